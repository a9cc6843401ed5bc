Feature: One registry, many agents
  Every agent answers the whole API. Writes reach the leader transparently;
  the cluster survives the loss of a minority of its agents and restarts
  with its data.

  Scenario: Every agent is alive and ready
    Then every agent answers "GET" "/alive" with 200
    And every agent becomes ready

  Scenario: The admin view of Raft on every agent
    Then exactly 1 agent reports state "Leader"
    When I send "GET" "/admin/raft" to the leader
    Then the response status is 200
    And the response has the fields "node_id, term, last_index, commit_index, applied_index, leader.raft"
    And the response contains:
      """
      {"state": "Leader"}
      """
    And the response "term" is at least 1
    And the response "last_index" is at least 1
    And the response "commit_index" is at least 1
    And the response "applied_index" is at least 1
    And the response has 3 "servers"
    And every element of "servers" contains:
      """
      {"suffrage": "Voter"}
      """
    And the response has the fields "servers.0.id, servers.0.address"
    And I remember the "node_id" as "leader"
    And I remember the "leader.http" as "leader-http"
    When I send "GET" "/admin/raft" to a follower
    Then the response contains:
      """
      {"state": "Follower", "leader": {"id": "${leader}", "http": "${leader-http}"}}
      """
    And the response has the fields "leader.raft"
    And the response has 3 "servers"
    When I send "GET" "/admin/raft" to the other follower
    Then the response contains:
      """
      {"state": "Follower", "leader": {"id": "${leader}", "http": "${leader-http}"}}
      """

  Scenario: The admin view of gossip members
    When I send "GET" "/admin/members" to agent 2
    Then the response status is 200
    And the response has 3 "members"
    And every element of "members" contains:
      """
      {"role": "registry", "state": "alive"}
      """
    And the response has the fields "members.0.name, members.0.gossip, members.0.raft, members.0.http"

  Scenario: The leader's view of every server's health
    When I send "GET" "/admin/health" to a follower
    Then the response status is 200
    And the response header "X-Custodes-Served-By" names the leader
    And the response has 3 "servers"
    And the response contains:
      """
      {"voters": 3, "failure_tolerance": 1, "can_tolerate_failure": true}
      """
    And every element of "servers" contains:
      """
      {"voter": true, "healthy": true, "gossip": "alive"}
      """

  Scenario Outline: A write sent to a follower is answered by the leader, never redirected
    When I send "<method>" "<path>" to a follower with body:
      """
      <body>
      """
    Then the response status is <status>
    And the response header "X-Custodes-Served-By" names the leader
    And the response header "Location" is absent

    Examples:
      | method | path                | body                                               | status |
      | POST   | /register           | {"name": "forwarded", "address": "10.0.0.1:80"}    | 201    |
      | PUT    | /instance/no-such   | {"version": "2"}                                   | 404    |
      | DELETE | /instance/no-such   | {}                                                 | 404    |

  Scenario: A forwarded registration is seen by every agent
    When I register "forwarded" at "10.0.0.1:80" through a follower
    Then the response status is 201
    And it is reported "created"
    And the response header "X-Custodes-Served-By" names the leader
    And every agent finds 1 instance of "forwarded"

  Scenario Outline: Concurrent writes share trips to the leader and Raft entries, each keeps its own answer
    When I register 60 instances of "crowd" concurrently through <agent>
    Then each was created with its own id
    And each instance reads back its own address through a follower
    And every agent finds 60 instances of "crowd"

    Examples:
      | agent      |
      | a follower |
      | the leader |

  Scenario: The leader takes apply calls only in their wire format
    When I send "POST" "/internal/v1/apply" to the leader with the raw body '{"name": "web"}'
    Then the response status is 400
    And the error mentions "apply call"
    When I send a body of 10000000 bytes declaring its length to "/internal/v1/apply" on the leader
    Then the response status is 413

  Scenario: The profiler is off unless asked for
    When I send "GET" "/debug/pprof/" to the leader
    Then the response status is 404

  @fresh
  Scenario: An agent started with --enable-debug serves Go's profiler
    Given a fresh cluster of 1 agents with the profiler enabled
    When I send "GET" "/debug/pprof/" to the leader
    Then the response status is 200
    When I send "GET" "/debug/pprof/goroutine?debug=1" to the leader
    Then the response status is 200
    When I send "GET" "/debug/pprof/cmdline" to the leader
    Then the response status is 200
    When I send "GET" "/debug/pprof/symbol" to the leader
    Then the response status is 200
    When I send "GET" "/debug/pprof/profile?seconds=1" to the leader
    Then the response status is 200
    And the response header "Content-Type" is "application/octet-stream"
    When I send "GET" "/debug/pprof/trace?seconds=1" to the leader
    Then the response status is 200
    And the response header "Content-Type" is "application/octet-stream"

  Scenario: Only the leader hands out read indexes
    When I send "GET" "/internal/v1/read-index" to the leader
    Then the response status is 200
    And the response "index" is at least 1
    And the response header "X-Custodes-Served-By" names the leader
    When I send "GET" "/internal/v1/read-index" to a follower
    Then the response status is 503
    And the response header "Retry-After" is "1"
    And the response has the fields "error"

  @fresh
  Scenario: Killing the leader elects a new one and loses no acknowledged write
    Given I register these instances:
      | name   | version | address     |
      | before | 1       | 10.0.0.1:80 |
      | before | 1       | 10.0.0.2:80 |
      | before | 2       | 10.0.0.3:80 |
    And I register "before" at "10.0.0.4:80" through the leader
    When I kill the leader
    Then a new leader is elected
    And every agent finds 4 instances of "before"
    When I register "after" at "10.0.0.5:80" through a follower
    Then the response status is 201
    And every agent finds 1 instance of "after"

  @fresh
  Scenario: Stopping and restarting every agent keeps the data and the voters
    Given I register "durable" at "10.0.0.1:80"
    And I register "durable" at "10.0.0.2:80" through a follower
    And I remember the "id" as "second"
    And I note the voters as "three"
    When I stop every agent
    And I restart every agent
    Then the voters are still those noted as "three"
    And every agent finds 2 instances of "durable"
    When I send "GET" "/instance/${second}" to a follower
    Then the response contains:
      """
      {"id": "${second}", "name": "durable", "address": "10.0.0.2:80"}
      """

  @fresh
  Scenario: A killed agent restarted with its data dir rejoins as itself
    Given I register "before" at "10.0.0.1:80"
    And I note the voters as "three"
    And I send "GET" "/admin/raft" to the leader
    And I remember the "node_id" as "leader"
    When I kill a follower
    And I register "while-down" at "10.0.0.1:80"
    And I restart the killed agent
    Then every agent has applied the leader's index
    And the voters are still those noted as "three"
    When I send "GET" "/admin/raft" to agent ${killed}
    Then the response contains:
      """
      {"node_id": "${killed.id}", "leader": {"id": "${leader}"}}
      """
    And the response has 3 "servers"
    When I send "GET" "/service/while-down?stale" to agent ${killed}
    Then the response status is 200
    And the response header "X-Custodes-Served-By" is "${killed.id}"
    And every agent finds 1 instance of "while-down"

  # A write refused for lack of quorum may still be in the survivor's log if
  # it briefly led (the error then says the outcome is unknown): Raft may
  # commit it later. So the write after recovery is a different one.
  @fresh
  Scenario: Without a quorum writes fail fast with 503, and succeed once it is back
    When I kill every agent but a follower
    And I send "POST" "/register" to agent ${survivor} with body:
      """
      {"name": "no-quorum", "address": "10.0.0.1:80"}
      """
    Then the response status is 503
    And the response header "Retry-After" is "1"
    And the answer came within 7 seconds
    And the response has the fields "error"
    When I send "GET" "/alive" to agent ${survivor}
    Then the response status is 200
    When I restart the dead agents
    And I send "POST" "/register" to agent ${survivor} with body:
      """
      {"name": "quorum-back", "address": "10.0.0.1:80"}
      """
    Then the response status is 201
    And every agent finds 1 instance of "quorum-back"
