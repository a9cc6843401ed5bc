Feature: Every service is watched
  A registration may carry a check. Agents share the polling; only
  transitions reach Raft; lookups hand out passing instances only.

  Background:
    Given the registry is empty

  Scenario: A failing service turns critical, drops out of lookups and comes back
    Given a test service "api" that is healthy
    And a rectify webhook "restarter"
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "api", "address": "${api.addr}",
       "check": {"interval": "100ms", "timeout": "50ms", "failures_before_critical": 2, "successes_before_passing": 1},
       "rectify": {"url": "${restarter.url}"}}
      """
    Then the response status is 201
    And I remember the "id" as "api"
    When the test service "api" starts failing
    Then the instance "${api}" turns "critical" within 5 seconds
    And the webhook "restarter" has been called 1 time with event "critical" for "${api}"
    When I send "GET" "/service/api" to a follower
    Then the response status is 503
    And the response contains:
      """
      {"name": "api", "instances": [{"id": "${api}", "status": "critical"}]}
      """
    When the test service "api" recovers
    Then the instance "${api}" turns "passing" within 5 seconds
    When I send "GET" "/service/api" to agent 1
    Then the response status is 200
    And the response contains:
      """
      {"address": "${api.addr}"}
      """
    When the test service "api" starts failing
    Then the instance "${api}" turns "critical" within 5 seconds
    And the webhook "restarter" has been called 2 times with event "critical" for "${api}"

  Scenario: Lookups skip critical instances unless all=true
    Given a test service "good" that is healthy
    And a test service "bad" that is failing
    When I send "POST" "/register" to the leader with body:
      """
      {"name": "pool", "address": "${good.addr}", "check": {"interval": "50ms", "failures_before_critical": 1}}
      """
    And I send "POST" "/register" to the leader with body:
      """
      {"name": "pool", "address": "${bad.addr}", "check": {"interval": "50ms", "failures_before_critical": 1}}
      """
    And I remember the "id" as "bad"
    Then the instance "${bad}" turns "critical" within 5 seconds
    When I send "GET" "/service/pool" to a follower
    Then the response has 1 "instances"
    And the response contains:
      """
      {"address": "${good.addr}", "instances": [{"address": "${good.addr}", "status": "passing"}]}
      """
    When I send "GET" "/service/pool?all=true" to a follower
    Then the response has 2 "instances"
    And the response contains:
      """
      {"address": "${good.addr}", "instances": [{"status": "critical"}, {"status": "passing"}]}
      """

  Scenario: A registration without a check is never polled and stays passing
    When I register "plain" at "127.0.0.1:1"
    And I remember the "id" as "plain"
    And I send "GET" "/instance/${plain}" to a follower
    Then the response contains:
      """
      {"status": "passing"}
      """
    And the instance "${plain}" turns "passing" within 1 second

  Scenario: An empty check takes every default
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "defaults", "address": "127.0.0.1:9999", "check": {}}
      """
    And I remember the "id" as "d"
    And I send "GET" "/instance/${d}" to the leader
    Then the response contains:
      """
      {"check": {"http": "http://127.0.0.1:9999/alive", "interval": "10s", "timeout": "2s",
                 "failures_before_critical": 2, "successes_before_passing": 1}}
      """

  Scenario: A redirecting check counts as failing
    (A generous timeout: with 25 ms a loaded machine timed the check out
    before the 302 arrived, and the output named the timeout instead.)
    Given a test service "moved" that is redirecting
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "moved", "address": "${moved.addr}", "check": {"interval": "1s", "timeout": "800ms", "failures_before_critical": 1}}
      """
    And I remember the "id" as "moved"
    Then the instance "${moved}" turns "critical" within 5 seconds
    When I send "GET" "/instance/${moved}" to the leader
    Then the response contains:
      """
      {"status_output": "GET http://${moved.addr}/alive: 302 Found"}
      """

  Scenario: A TTL check is kept alive by heartbeats through any agent
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "job", "address": "127.0.0.1:9100", "check": {"ttl": "300ms"}}
      """
    And I remember the "id" as "job"
    Then the instance "${job}" turns "critical" within 5 seconds
    When I send "PUT" "/instance/${job}/heartbeat" to a follower
    Then the response status is 200
    And the response contains:
      """
      {"id": "${job}", "status": "passing"}
      """
    And the response header "X-Custodes-Served-By" names the leader

  Scenario: Heartbeats need a TTL check and a known instance
    When I register "plain" at "127.0.0.1:1"
    And I remember the "id" as "plain"
    And I send "PUT" "/instance/${plain}/heartbeat" to a follower
    Then the response status is 409
    And the error mentions "no ttl check"
    When I send "PUT" "/instance/unknown/heartbeat" to a follower
    Then the response status is 404

  Scenario: An instance critical for longer than deregister_after is removed
    Given a test service "gone" that is failing
    When I send "POST" "/register" to the leader with body:
      """
      {"name": "gone", "address": "${gone.addr}",
       "check": {"interval": "50ms", "failures_before_critical": 1, "deregister_after": "300ms"}}
      """
    And I remember the "id" as "gone"
    Then the instance "${gone}" is deregistered within 10 seconds

  Scenario Outline: Bad checks are refused
    When I send "POST" "/register" to a follower with the raw body '{"name": "x", "address": "127.0.0.1:1", <field>}'
    Then the response status is 400
    And the error mentions "<problem>"

    Examples:
      | field                                                      | problem                  |
      | "check": {"interval": "soon"}                              | check.interval           |
      | "check": {"interval": "1s", "timeout": "2s"}               | less than check.interval |
      | "check": {"ttl": "1s", "http": "http://a/b"}               | either ttl               |
      | "check": {"http": "ftp://a/b"}                             | check.http               |
      | "check": {"failures_before_critical": 1000}                | failures_before_critical |
      | "check": {"deregister_after": "-1s"}                       | deregister_after         |
      | "rectify": {"url": "not a url"}                            | rectify.url              |
      | "check": 5                                                 | "check"                  |
