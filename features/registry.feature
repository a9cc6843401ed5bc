Feature: Service registry
  Services register themselves with any agent of the registry and find each
  other by name. An instance is identified by its name and address, so
  registering again never makes a duplicate.

  Background:
    Given the registry is empty

  Scenario: The original registry requirements
    When I register these instances:
      | name  | version | address      |
      | test  | 0.0.1   | 10.0.0.1:80  |
      | test  | 0.0.1   | 10.0.0.2:80  |
      | test  | 0.0.2   | 10.0.0.3:80  |
      | test  | 0.0.2   | 10.0.0.4:80  |
      | test2 | 0.0.2   | 10.0.0.5:80  |
      | test2 | 0.0.2   | 10.0.0.6:80  |
    Then searching for "test" version "0.0.1" finds 2 instances
    And searching for "test" version "0.0.2" finds 2 instances
    And searching for "test2" version "0.0.2" finds 2 instances
    And searching for "test" version "0.0.3" finds 0 instances
    And searching for "test3" version "0.0.1" finds 0 instances
    And searching for "test" finds 4 instances

  Scenario: Updating an instance reports "changed" and increments change_version
    Given I register "test" version "0.0.1" at "10.0.0.1:80"
    And I remember the response "id" as "id"
    When I send "PUT" "/instance/${id}" to a follower with body:
      """
      {"version": "0.0.2", "tags": ["blue"], "meta": {"zone": "a"}}
      """
    Then the response status is 200
    And the response contains:
      """
      {"id": "${id}", "change": "changed", "change_version": 2}
      """
    When I send "GET" "/instance/${id}" to agent 3
    Then the response contains:
      """
      {"id": "${id}", "name": "test", "version": "0.0.2", "tags": ["blue"], "meta": {"zone": "a"}, "change_version": 2}
      """

  Scenario: Removing an instance reports "removed" and the instance is gone
    Given I register "test" version "0.0.1" at "10.0.0.1:80"
    And I remember the response "id" as "id"
    When I send "DELETE" "/instance/${id}" to a follower
    Then the response status is 200
    And the response contains:
      """
      {"id": "${id}", "change": "removed"}
      """
    And the instance "${id}" is gone from every agent
    And searching for "test" finds 0 instances

  Scenario: Registering the same name and address twice never duplicates
    Given I register "web" version "1.0.0" at "10.0.0.1:80"
    And it is reported "created"
    And the response status is 201
    And I remember the response "id" as "first"
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
    And I remember the response "id" as "a"
    When I register "web" at "10.0.0.2:80"
    Then it is reported "created"
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
      {"name": "db", "address": "10.0.0.9:5432", "instances": [{"kind": "service", "tags": ["primary"], "meta": {"engine": "pg"}, "status": "passing"}]}
      """
    When I send "POST" "/register" to the leader with body:
      """
      {"name": "cache", "address": "10.0.0.8:6379", "kind": "sidecar"}
      """
    And I send "GET" "/service/cache" to agent 2
    Then the response contains:
      """
      {"instances": [{"kind": "sidecar"}]}
      """

  Scenario: The lookup hands out every instance's address in turn
    Given I register "web" at "10.0.0.1:80"
    And I register "web" at "10.0.0.2:80"
    And I register "web" at "10.0.0.3:80"
    Then repeated lookups of "web" hand out all 3 addresses

  Scenario: An update with the same values is "unchanged"
    Given I register "web" version "1" at "10.0.0.1:80"
    And I remember the response "id" as "id"
    When I send "PUT" "/instance/${id}" to the leader with body:
      """
      {"version": "1"}
      """
    Then the response contains:
      """
      {"change": "unchanged", "change_version": 1}
      """

  Scenario: Moving an instance onto another instance's address is a conflict
    Given I register "web" at "10.0.0.1:80"
    And I register "web" at "10.0.0.2:80"
    And I remember the response "id" as "second"
    When I send "PUT" "/instance/${second}" to a follower with body:
      """
      {"address": "10.0.0.1:80"}
      """
    Then the response status is 409
    And searching for "web" finds 2 instances

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
      {"page": 1, "per_page": 2, "total": 3, "services": [{"name": "alpha"}, {"name": "beta"}]}
      """
    And the response has 2 "services"
    And the response has 2 "services.1.instances"
    When I send "GET" "/services?page=2&per_page=2" to a follower
    Then the response contains:
      """
      {"page": 2, "total": 3, "services": [{"name": "gamma"}]}
      """
    And the response has 1 "services"

  Scenario Outline: Bad paging is refused
    When I send "GET" "/services?<query>" to the leader
    Then the response status is 400
    And the error mentions "<field>"

    Examples:
      | query          | field    |
      | page=0         | page     |
      | page=x         | page     |
      | per_page=0     | per_page |
      | per_page=5000  | per_page |
