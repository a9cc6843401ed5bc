@fresh
Feature: The watchmen watch each other
  The leader reconciles gossip membership into the Raft configuration: dead
  agents are noticed, replaced and removed without an operator, never at
  the cost of quorum; graceful stops keep the voters; leave decommissions.

  Scenario: A dead agent is replaced by a fresh one with no operator action
    Given I register "kept" at "10.0.0.1:80"
    When I kill a follower
    Then gossip reports the killed agent as "dead"
    When I register "kept" at "10.0.0.2:80" through a follower
    Then the response status is 201
    And the cluster has 3 voters
    When I start a new agent with a fresh id
    Then the new agent is a voter
    And the killed agent is not a voter
    And the cluster has 3 voters
    And every agent finds 2 instances of "kept"

  Scenario: Dead-server cleanup never goes below min-quorum
    Given a fresh cluster of 5 agents with a dead-server timeout of 300ms and min-quorum 3
    When I kill a follower
    And I kill the other follower
    Then the cluster has 3 voters
    When I kill a follower
    Then the cluster has 3 voters
    And I register "still" at "10.0.0.1:80" through the leader
    And the response status is 201

  Scenario: Stopping the leader gracefully hands leadership over and keeps it a voter
    Given I register "graceful" at "10.0.0.1:80"
    When I stop the leader gracefully
    Then a new leader is elected
    And gossip reports the stopped agent as "left"
    And the stopped agent is a voter
    And every agent finds 1 instance of "graceful"
    When I restart the stopped agent
    Then every agent has applied the leader's index
    And the cluster has 3 voters

  Scenario: Leave decommissions an agent, quorum-safe
    When a follower leaves the cluster
    Then the response contains:
      """
      {"change": "left"}
      """
    And the cluster has 2 voters
    And the leaver agent is not a voter
    And gossip reports the leaver agent as "left"
    When I register "after-leave" at "10.0.0.1:80" through the leader
    Then the response status is 201

  Scenario: Removing a dead peer is allowed; removing one that would cost quorum is refused
    When I kill a follower
    And the leader sees the killed agent as unhealthy
    And I send "GET" "/admin/raft" to a follower
    And I remember the "node_id" as "healthy"
    # Removing the healthy follower would leave the leader and a dead voter.
    And I send "POST" "/admin/raft/remove-peer" to the leader with body:
      """
      {"id": "${healthy}"}
      """
    Then the response status is 409
    And the error mentions "unsafe"
    And the cluster has 3 voters
    When I send "POST" "/admin/raft/remove-peer" to a follower with body:
      """
      {"id": "${killed.id}"}
      """
    Then the response status is 200
    And the cluster has 2 voters
    And the killed agent is not a voter

  # The safety check probes every server at the moment of removal, so a
  # voter that died a moment ago no longer counts as healthy.
  Scenario: Removing a healthy voter just after another one died is refused
    Given the leader sees every agent as healthy
    When I kill a follower
    And I send "GET" "/admin/raft" to a follower
    And I remember the "node_id" as "healthy"
    And I send "POST" "/admin/raft/remove-peer" to the leader with body:
      """
      {"id": "${healthy}"}
      """
    Then the response status is 409
    And the error mentions "unsafe"
    When I register "still-writable" at "10.0.0.1:80" through the leader
    Then the response status is 201

  Scenario: Removing an unknown peer is not found
    When I send "POST" "/admin/raft/remove-peer" to a follower with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 404
    When I send "POST" "/admin/raft/remove-peer" to a follower with body:
      """
      {}
      """
    Then the response status is 400
