Feature: Reads: linearizable by default, stale on request, blocking on change
  Any agent answers reads from its own replica after learning the leader's
  read index, so a read sees every write acknowledged before it began.
  Every read names the index it reflects and the agent that served it.

  Scenario Outline: Every read carries its index and names the agent asked
    Given I register "web" at "10.0.0.1:80"
    And I remember the "id" as "id"
    And every agent has applied the leader's index
    When I send "GET" "<path>" to <agent>
    Then the response status is <status>
    And the response header "X-Custodes-Index" is at least 1
    And the response header "X-Custodes-Served-By" names the agent asked

    Examples:
      | path               | agent      | status |
      | /service/web       | a follower | 200    |
      | /service/web       | the leader | 200    |
      | /service/web?stale | agent 2    | 200    |
      | /service/nothing   | a follower | 404    |
      | /services          | agent 1    | 200    |
      | /instance/${id}    | agent 3    | 200    |
      | /instance/nope     | a follower | 404    |
      | /admin/raft        | a follower | 200    |

  Scenario: A write is visible at once from every agent
    When I register "fresh" at "10.0.0.1:80" through the leader
    Then every agent finds 1 instance of "fresh"
    When I register "fresh" at "10.0.0.2:80" through a follower
    Then every agent finds 2 instances of "fresh"
    When I register "fresh" at "10.0.0.3:80" through the other follower
    Then every agent finds 3 instances of "fresh"

  Scenario: A read on a follower reflects the leader's index
    Given I register "web" at "10.0.0.1:80" through the leader
    And I remember the "index" as "written"
    When I send "GET" "/service/web" to a follower
    Then the response "index" is at least ${written}
    And the response header "X-Custodes-Index" is at least ${written}
    And the response header "X-Custodes-Served-By" names the agent asked

  Scenario: A stale read answers from the local replica
    Given I register "web" at "10.0.0.1:80"
    And every agent has applied the leader's index
    When I send "GET" "/service/web?stale" to a follower
    Then the response status is 200
    And the response header "X-Custodes-Served-By" names the agent asked
    And the response contains:
      """
      {"name": "web", "instances": [{"address": "10.0.0.1:80"}]}
      """

  @fresh
  Scenario: Without a quorum a stale read still answers; a default read refuses
    Given I register "web" at "10.0.0.1:80"
    And every agent has applied the leader's index
    When I kill every agent but a follower
    And I send "GET" "/service/web?stale" to agent ${survivor}
    Then the response status is 200
    And the response contains:
      """
      {"instances": [{"address": "10.0.0.1:80"}]}
      """
    When I send "GET" "/service/web" to agent ${survivor}
    Then the response status is 503
    And the response header "Retry-After" is "1"
    And the answer came within 8 seconds

  Scenario: A blocking query returns as soon as its service changes
    Given I register "web" at "10.0.0.1:80"
    And I send "GET" "/service/web" to a follower
    And I remember the header "X-Custodes-Index" as "seen"
    When I start "GET" "/service/web?index=${seen}&wait=5s" on a follower in the background as "watch"
    And I register "other" at "10.0.0.9:80"
    And every agent has applied the leader's index
    Then the background request "watch" is still waiting
    When I register "web" at "10.0.0.2:80"
    Then the background request "watch" answers 200 within 4 seconds
    And the answer came within 3 seconds
    And the response header "X-Custodes-Index" is greater than ${seen}
    And the response "index" is greater than ${seen}
    And the response has 2 "instances"
    And the response contains:
      """
      {"instances": [{"address": "10.0.0.2:80"}]}
      """

  Scenario: A blocking query on an unchanged service answers when the wait ends
    Given I register "web" at "10.0.0.1:80"
    And I send "GET" "/service/web" to the leader
    And I remember the header "X-Custodes-Index" as "seen"
    When I send "GET" "/service/web?index=${seen}&wait=300ms" to a follower
    Then the response status is 200
    And the answer took at least 0.3 seconds
    And the answer came within 3 seconds
    And the response header "X-Custodes-Index" is "${seen}"
    And the response contains:
      """
      {"index": ${seen}, "instances": [{"address": "10.0.0.1:80"}]}
      """

  Scenario: A blocking query without an index answers at once
    Given I register "web" at "10.0.0.1:80"
    When I send "GET" "/service/web?wait=5s" to a follower
    Then the response status is 200
    And the answer came within 2 seconds

  Scenario: A blocking query waits for a service that does not exist yet
    When I send "GET" "/service/later" to a follower
    Then the response status is 404
    And I remember the header "X-Custodes-Index" as "seen"
    When I start "GET" "/service/later?index=${seen}&wait=5s" on agent 3 in the background as "later"
    Then the background request "later" is still waiting
    When I register "later" at "10.0.0.1:80"
    Then the background request "later" answers 200 within 4 seconds
    And the response "index" is greater than ${seen}
    And the response contains:
      """
      {"name": "later", "address": "10.0.0.1:80"}
      """
