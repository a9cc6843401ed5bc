Feature: Service registry
  Services register themselves with any agent of the registry and find each
  other by name. An instance is identified by its name and address, so
  registering again never makes a duplicate.

  Scenario: The original registry requirements: register and search
    Given the registry is empty
    When I register these instances:
      | name  | version | address     |
      | test  | 0.0.1   | 10.0.0.1:80 |
      | test  | 0.0.1   | 10.0.0.2:80 |
      | test  | 0.0.2   | 10.0.0.3:80 |
      | test  | 0.0.2   | 10.0.0.4:80 |
      | test2 | 0.0.2   | 10.0.0.5:80 |
      | test2 | 0.0.2   | 10.0.0.6:80 |
    Then searching for "test" version "0.0.1" finds 2 instances
    And searching for "test" version "0.0.2" finds 2 instances
    And searching for "test2" version "0.0.2" finds 2 instances
    And searching for "test" version "0.0.3" finds 0 instances
    And searching for "test3" version "0.0.1" finds 0 instances
    And searching for "test3" finds 0 instances
    And searching for "test" finds 4 instances

  Scenario: The original registry requirements: update and remove
    Given I register "test" version "0.0.1" at "10.0.0.1:80"
    And I remember the "id" as "first"
    And I register "test" version "0.0.1" at "10.0.0.2:80"
    When I update the instance "${first}" to version "0.0.2"
    Then the response status is 200
    And it is reported "changed" with change_version 2
    And searching for "test" version "0.0.2" finds 1 instance
    When I remove the instance "${first}"
    Then the response status is 200
    And the response contains:
      """
      {"id": "${first}", "change": "removed"}
      """
    And the instance "${first}" is gone from every agent
    And searching for "test" finds 1 instance

  Scenario: An update shows in the instance, with its new change_version
    Given I register "test" version "0.0.1" at "10.0.0.1:80"
    And I remember the "id" as "id"
    When I send "PUT" "/instance/${id}" to a follower with body:
      """
      {"version": "0.0.2", "tags": ["blue"], "meta": {"zone": "a"}}
      """
    Then the response contains:
      """
      {"id": "${id}", "change": "changed", "change_version": 2}
      """
    When I send "GET" "/instance/${id}" to agent 3
    Then the response status is 200
    And the response contains:
      """
      {"id": "${id}", "name": "test", "version": "0.0.2", "address": "10.0.0.1:80",
       "tags": ["blue"], "meta": {"zone": "a"}, "change_version": 2}
      """
    And the response has the fields "registered_at, updated_at"

  Scenario: Registering the same name and address again never duplicates
    Given I register "web" version "1.0.0" at "10.0.0.1:80"
    And the response status is 201
    And it is reported "created" with change_version 1
    And I remember the "id" as "first"
    When I register "web" version "1.0.0" at "10.0.0.1:80"
    Then the response status is 200
    And the response contains:
      """
      {"id": "${first}", "change": "unchanged", "change_version": 1}
      """
    When I register "web" version "1.1.0" at "10.0.0.1:80"
    Then the response status is 200
    And the response contains:
      """
      {"id": "${first}", "change": "changed", "change_version": 2}
      """
    And searching for "web" finds 1 instance

  Scenario: The same name at another address is another instance
    Given I register "web" at "10.0.0.1:80"
    When I register "web" at "10.0.0.2:80"
    Then the response status is 201
    And it is reported "created"
    And searching for "web" finds 2 instances

  Scenario: Kind defaults to "service"; tags and meta are kept
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "db", "address": "10.0.0.9:5432", "tags": ["primary"], "meta": {"engine": "pg"}}
      """
    Then the response status is 201
    When I send "GET" "/service/db" to the leader
    Then the response contains:
      """
      {"name": "db", "address": "10.0.0.9:5432",
       "instances": [{"name": "db", "kind": "service", "tags": ["primary"], "meta": {"engine": "pg"}}]}
      """
    When I send "POST" "/register" to the leader with body:
      """
      {"name": "cache", "address": "10.0.0.8:6379", "kind": "sidecar"}
      """
    And I send "GET" "/service/cache" to agent 2
    Then the response contains:
      """
      {"instances": [{"kind": "sidecar", "tags": [], "meta": {}}]}
      """

  Scenario: The lookup hands out every instance's address in turn
    Given I register "web" at "10.0.0.1:80"
    And I register "web" at "10.0.0.2:80"
    And I register "web" at "10.0.0.3:80"
    Then repeated lookups of "web" hand out all 3 addresses

  Scenario: An update with the same values is "unchanged"
    Given I register "web" version "1" at "10.0.0.1:80"
    And I remember the "id" as "id"
    When I send "PUT" "/instance/${id}" to the leader with body:
      """
      {"version": "1", "address": "10.0.0.1:80"}
      """
    Then the response status is 200
    And it is reported "unchanged" with change_version 1

  Scenario: Moving an instance onto another instance's address is a conflict
    Given I register "web" at "10.0.0.1:80"
    And I register "web" at "10.0.0.2:80"
    And I remember the "id" as "second"
    When I send "PUT" "/instance/${second}" to a follower with body:
      """
      {"address": "10.0.0.1:80"}
      """
    Then the response status is 409
    And the error mentions "address"
    And searching for "web" finds 2 instances

  Scenario: Moving an instance to a free address keeps its id
    Given I register "web" at "10.0.0.1:80"
    And I remember the "id" as "id"
    When I send "PUT" "/instance/${id}" to a follower with body:
      """
      {"address": "10.0.0.7:80"}
      """
    Then it is reported "changed" with change_version 2
    When I send "GET" "/service/web" to agent 1
    Then the response contains:
      """
      {"address": "10.0.0.7:80", "instances": [{"id": "${id}", "address": "10.0.0.7:80"}]}
      """

  Scenario Outline: An unknown instance id is not found
    When I send "<method>" "/instance/no-such-id" to a follower with body:
      """
      {"version": "2"}
      """
    Then the response status is 404
    And the error mentions "no-such-id"

    Examples:
      | method |
      | GET    |
      | PUT    |
      | DELETE |

  Scenario: The catalog lists services with their instances, page by page
    Given I register "alpha" at "10.0.0.1:80"
    And I register "beta" at "10.0.0.2:80"
    And I register "beta" at "10.0.0.3:80"
    And I register "gamma" at "10.0.0.4:80"
    When I send "GET" "/services?page=1&per_page=2" to a follower
    Then the response status is 200
    And the response contains:
      """
      {"page": 1, "per_page": 2, "total": 3,
       "services": [{"name": "alpha", "instances": [{"address": "10.0.0.1:80"}]},
                    {"name": "beta", "instances": [{"address": "10.0.0.2:80"}, {"address": "10.0.0.3:80"}]}]}
      """
    And the response has 2 "services"
    And the response has 2 "services.1.instances"
    When I send "GET" "/services?page=2&per_page=2" to agent 2
    Then the response contains:
      """
      {"page": 2, "per_page": 2, "total": 3, "services": [{"name": "gamma"}]}
      """
    And the response has 1 "services"
    When I send "GET" "/services?page=3&per_page=2" to the leader
    Then the response status is 200
    And the response has 0 "services"
    When I send "GET" "/services" to the leader
    Then the response contains:
      """
      {"page": 1, "per_page": 100, "total": 3}
      """

  Scenario Outline: Bad paging is refused
    When I send "GET" "/services?<query>" to the leader
    Then the response status is 400
    And the error mentions "<field>"

    Examples:
      | query         | field    |
      | page=0        | page     |
      | page=-1       | page     |
      | page=x        | page     |
      | per_page=0    | per_page |
      | per_page=5000 | per_page |
      | per_page=1.5  | per_page |
