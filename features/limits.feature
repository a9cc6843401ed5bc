Feature: An agent keeps serving everyone while some clients misbehave
  Each agent bounds what its clients can hold or send: a request's
  headers must arrive within --http-read-header-timeout, connections are
  capped by --max-connections (more are answered 503 and closed, never
  queued), blocking queries and event streams by --max-watchers (429),
  and each client's writes by --write-rate (429). Every refusal says
  when to retry (Retry-After) and names its limit in the usual
  {"error"} body.

  @fresh
  Scenario: Five hundred half-sent requests do not starve the others
    Given a fresh cluster of 3 agents with an HTTP read-header timeout of 3s
    When I register "web" at "10.0.0.1:80"
    Then the response status is 201
    When I hold 500 half-sent requests open to agent 1
    And I look "web" up on agent 1 over a new connection
    Then the response status is 200
    And the answer came within 1 second
    And the half-sent requests are all still open
    # The read-header timeout frees what they hold.
    And the agent closes every half-sent request within 10 seconds

  @fresh
  Scenario: Connections beyond the limit are refused at once, not queued
    Given a fresh cluster of 3 agents with at most this many connections each: 10
    When I register "web" at "10.0.0.1:80"
    And I open 20 half-sent requests to a follower, more than it allows
    Then the response status is 503
    And the response header "Retry-After" is "1"
    And the error mentions "--max-connections"
    When I close the half-sent requests
    Then looking "web" up on a follower over a new connection answers 200 within 5 seconds

  @fresh
  Scenario: Watchers beyond the limit get 429
    Given a fresh cluster of 3 agents with at most this many watchers each: 2
    When I register "web" at "10.0.0.1:80"
    And I start "GET" "/service/web?index=1000000&wait=5s" on agent 1 in the background as "w1"
    And I start "GET" "/events" on agent 1 in the background as "w2"
    Then agent 1 has 2 watchers open
    When I send "GET" "/service/web?index=1000000&wait=5s" to agent 1
    Then the response status is 429
    And the response header "Retry-After" is "1"
    And the error mentions "--max-watchers"
    When I send "GET" "/events" to agent 1
    Then the response status is 429
    # Plain lookups hold no place, and the limit is per agent.
    When I send "GET" "/service/web" to agent 1
    Then the response status is 200
    When I send "GET" "/service/web?index=1&wait=1s" to agent 2
    Then the response status is 200
    # A blocking query that ends gives its place back.
    And the background request "w1" answers 200 within 10 seconds
    And agent 1 has 1 watchers open
    When I send "GET" "/service/web?index=1&wait=1s" to agent 1
    Then the response status is 200

  @fresh
  Scenario: Writes beyond --write-rate get 429, per client address and per agent
    Given a fresh cluster of 3 agents with a write rate and burst of 0.1/3
    When I send 6 registrations one after another to a follower
    Then 3 were created and 3 refused with 429
    And the response header "Retry-After" is at least 1
    And the error mentions "--write-rate"
    # Reads are not writes.
    When I send "GET" "/service/burst" to a follower
    Then the response status is 200
    # A token it makes up escapes nothing: no user holds it, so it is
    # refused before the limit would count it apart from the address.
    When my next request has the header "Authorization: Bearer made-up"
    And I send "POST" "/register" to a follower with body:
      """
      {"name": "burst", "address": "10.9.0.99:80"}
      """
    Then the response status is 401
    # The leader counts only its own clients: the follower's writes reached
    # it over the agents' own protocol, which is never limited.
    When I send 3 registrations one after another to the leader
    Then 3 were created and 0 refused with 429
