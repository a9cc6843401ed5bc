Feature: Agents answer GET /metrics in Prometheus' text format
  One registry per agent: HTTP requests by route pattern, Raft, gossip
  members, checks, the file system and the Go runtime, read on scrape.

  Scenario: A follower's metrics show its Raft state, its members and its requests by route
    Given the registry is empty
    When I send "GET" "/service/api" to a follower
    And I send "GET" "/metrics" to a follower
    Then the response status is 200
    And the body contains "custodes_raft_state{state="Follower"} 1"
    And the body contains "custodes_raft_applied_index"
    And the body contains "custodes_gossip_members{role="
    And the body contains "custodes_dfs_files"
    And the body contains "route="/service/:name""
    And the body contains "go_goroutines"

  Scenario: A write through a follower is counted as forwarded there, and as committed on the leader
    Given the registry is empty
    When I register "web" at "10.0.0.1:80" through a follower
    Then the response status is 201
    And the metric "custodes_forwarded_writes_total" of a follower is at least 1
    And the metric "custodes_forward_calls_total" of a follower is at least 1
    And the metric "custodes_raft_apply_duration_seconds_count" of the leader is at least 1
    And the metric "custodes_raft_apply_batch_commands_sum" of the leader is at least 1
    And the metric "custodes_raft_state{state="Leader"}" of the leader is at least 1

  @fresh
  Scenario: Every agent counts the leader changes it saw
    Given a fresh cluster of 3 agents
    When I kill the leader
    Then a new leader is elected
    And the metric "custodes_raft_leader_changes_total" of the leader is at least 1
    And the metric "custodes_raft_leader_changes_total" of a follower is at least 1

  Scenario: A check's transitions are counted
    Given the registry is empty
    Given a test service "flaky" that is healthy
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "flaky", "address": "${flaky.addr}",
       "check": {"interval": "100ms", "timeout": "50ms", "failures_before_critical": 1, "successes_before_passing": 1}}
      """
    Then the response status is 201
    And I remember the "id" as "flaky"
    When the test service "flaky" starts failing
    Then the instance "${flaky}" turns "critical" within 5 seconds
    And the metric "custodes_check_transitions_total{status="critical"}" summed over the agents is at least 1
    And the metric "custodes_checks{status="critical"}" of a follower is at least 1

  @fresh
  Scenario: The leader's metrics show the file system and its sweep
    Given a fresh file system of 3 agents and 3 file servers sweeping every 100ms with users "alice", "bob" and "carol"
    When "alice" writes 3000 random bytes as "m.bin" to a follower
    Then the response status is 201
    And the metric "custodes_dfs_files" of a follower is at least 1
    And the metric "custodes_dfs_server_files" of the leader is at least 2
    And the metric "custodes_replication_sweeps_total" of the leader is at least 1
    And the metric "custodes_replication_last_sweep_duration_seconds" of the leader is at least 0
    When I send "GET" "/metrics" to the leader as "root"
    Then the body contains "custodes_replication_last_sweep_duration_seconds "
