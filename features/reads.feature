Feature: Reads — linearizable by default, stale on request, blocking on change
  Any agent answers reads from its own replica after learning the leader's
  read index, so a read sees every write acknowledged before it began.

  Background:
    Given the registry is empty

  Scenario: Every read names its index and the agent that served it
    Given I register "web" at "10.0.0.1:80"
    When I send "GET" "/service/web" to a follower
    Then the response status is 200
    And the response header "X-Custodes-Index" is set
    And the response header "X-Custodes-Served-By" names the agent asked
    When I send "GET" "/services" to agent 1
    Then the response header "X-Custodes-Index" is set
    When I send "GET" "/instance/nope" to agent 2
    Then the response header "X-Custodes-Index" is set

  Scenario: A write through the leader is visible at once on every follower
    When I register "fresh" at "10.0.0.1:80" through the leader
    Then every agent finds 1 instance of "fresh"
    When I register "fresh" at "10.0.0.2:80" through a follower
    Then every agent finds 2 instances of "fresh"

  Scenario: A stale read answers from the local replica
    Given I register "web" at "10.0.0.1:80"
    And every agent has applied the leader's index
    When I send "GET" "/service/web?stale" to a follower
    Then the response status is 200
    And the response header "X-Custodes-Index" is set
    And the response contains:
      """
      {"name": "web", "instances": [{"address": "10.0.0.1:80"}]}
      """

  Scenario: A blocking query returns as soon as the service changes
    Given I register "web" at "10.0.0.1:80"
    And I send "GET" "/service/web" to a follower
    And I remember the response "index" as "seen"
    When I start "GET" "/service/web?index=${seen}&wait=10s" on a follower in the background as "watch"
    And I register "other" at "10.0.0.9:80"
    Then the background request "watch" is still waiting
    When I register "web" at "10.0.0.2:80"
    Then the background request "watch" answers 200 within 5 seconds
    And the response has 2 "instances"

  Scenario: A blocking query on an unchanged service answers when the wait ends
    Given I register "web" at "10.0.0.1:80"
    And I send "GET" "/service/web" to the leader
    And I remember the response "index" as "seen"
    When I send "GET" "/service/web?index=${seen}&wait=300ms" to a follower
    Then the response status is 200
    And the response contains:
      """
      {"index": ${seen}}
      """

  Scenario: A blocking query waits for a service that does not exist yet
    When I send "GET" "/service/later" to a follower
    Then the response status is 404
    And the response header "X-Custodes-Index" is "1"
    When I start "GET" "/service/later?index=1&wait=10s" on agent 3 in the background as "later"
    And I register "later" at "10.0.0.1:80"
    Then the background request "later" answers 200 within 5 seconds
