Feature: Agents answer GET /metrics in Prometheus' text format
  One registry per agent: HTTP requests by route pattern, Raft, gossip
  members, checks, the file system and the Go runtime, read on scrape.

  Background:
    Given the registry is empty

  Scenario: A follower's metrics show its Raft state, its members and its requests by route
    When I send "GET" "/service/api" to a follower
    And I send "GET" "/metrics" to a follower
    Then the response status is 200
    And the body contains "custodes_raft_state{state="Follower"} 1"
    And the body contains "custodes_raft_applied_index"
    And the body contains "custodes_gossip_members{role="
    And the body contains "custodes_dfs_files"
    And the body contains "route="/service/:name""
    And the body contains "go_goroutines"
