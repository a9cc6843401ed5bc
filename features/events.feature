Feature: A stream of every change
  GET /events is a server-sent-events stream of catalog and membership
  changes, each carrying the Raft index that made it.

  Scenario: Catalog changes stream from any agent
    Given the registry is empty
    And I open an event stream on a follower
    When I register "streamed" at "10.0.0.1:80"
    And I remember the "id" as "id"
    Then the event stream delivers a "registered" event for "streamed"
    When I send "PUT" "/instance/${id}" to the leader with body:
      """
      {"version": "2"}
      """
    Then the event stream delivers a "changed" event for "streamed"
    When I send "DELETE" "/instance/${id}" to agent 1
    Then the event stream delivers a "removed" event for "streamed"

  Scenario: Health transitions stream too
    Given the registry is empty
    And a test service "ev" that is failing
    And I open an event stream on agent 2
    When I send "POST" "/register" to the leader with body:
      """
      {"name": "ev", "address": "${ev.addr}", "check": {"interval": "50ms", "failures_before_critical": 1}}
      """
    Then the event stream delivers a "critical" event for "ev"
    When the test service "ev" recovers
    Then the event stream delivers a "passing" event for "ev"

  @fresh
  Scenario: Membership changes stream with their index
    Given I open an event stream on the leader
    Then the event stream delivers a membership event

  Scenario: A resumed stream starts after the index it names
    Given the registry is empty
    And I register "first" at "10.0.0.1:80"
    And I remember the "index" as "after"
    And I register "second" at "10.0.0.2:80"
    When I open an event stream on a follower after index "${after}"
    Then the event stream delivers a "registered" event for "second"
    And the event stream holds no "registered" event for "first"
    When I send "GET" "/events?index=abc" to a follower
    Then the response status is 400
