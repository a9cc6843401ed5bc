Feature: Saving and restoring the whole replicated state
  An operator saves the whole state (services, users, the file system's
  index) in one file through any agent, and restores it through any agent:
  the leader replaces the state on every agent at once, as `consul snapshot
  save|restore` does. Saving is a linearizable read: every write
  acknowledged before it is in the file. A file that is not a whole, valid
  archive changes nothing. Indexes never go backwards across a restore.

  @fresh
  Scenario: A snapshot saved through a follower is restored through the other follower
    Given a fresh cluster of 3 agents sharing a cluster key
    When I register "web" at "10.0.0.1:80"
    And I save a snapshot through a follower signed with the cluster key as "before"
    Then the response status is 200
    And the response header "Content-Type" is "application/octet-stream"
    And the response header "X-Custodes-Index" is at least 1
    When I register "api" at "10.0.0.2:80"
    And I note the leader's last Raft index as "pre-restore"
    And I restore the snapshot "before" through the other follower signed with the cluster key
    Then the response status is 200
    And the response "index" is greater than ${pre-restore}
    And the response has the fields "snapshot_index, leader"
    And the response header "X-Custodes-Served-By" names the leader
    And every agent finds 1 instance of "web"
    And every agent finds 0 instances of "api"
    When I register "db" at "10.0.0.3:80" through a follower
    Then the response header "X-Custodes-Index" is greater than ${pre-restore}
    And every agent finds 1 instance of "db"
    When I stop every agent
    And I restart every agent
    Then every agent becomes ready
    And every agent finds 1 instance of "web"
    And every agent finds 1 instance of "db"
    And every agent finds 0 instances of "api"

  Scenario: Bytes that are not a whole archive change nothing
    Given I register "web" at "10.0.0.1:80"
    And I save a snapshot through the leader as "good"
    When I restore 5000 random bytes as a snapshot through a follower
    Then the response status is 400
    And the error mentions "not a custodes snapshot archive"
    When I restore the snapshot "good" cut to its first half through the leader
    Then the response status is 400
    When I restore the snapshot "good" with one byte changed through the leader
    Then the response status is 400
    When I send "PUT" "/admin/snapshot" to the leader with the raw body '{"version":2}'
    Then the response status is 400
    And every agent finds 1 instance of "web"

  @fresh
  Scenario: An archive over the agents' snapshot limit is refused, compressed or not
    Given a fresh cluster of 3 agents with a snapshot limit in bytes of 65536
    And I register "web" at "10.0.0.1:80"
    When I restore an archive of 50000000 bytes of white space once decompressed through a follower
    Then the response status is 413
    And the error mentions "the archive's state is over 65536 bytes decompressed"
    When I restore an archive of 50000000 bytes of white space once decompressed through the leader
    Then the response status is 413
    And the error mentions "the archive's state is over 65536 bytes decompressed"
    When I restore 70000 random bytes as a snapshot through the leader
    Then the response status is 413
    And the error mentions "archive over 65536 bytes"
    When I save a snapshot through a follower as "small"
    And I restore the snapshot "small" through the leader
    Then the response status is 200
    And every agent finds 1 instance of "web"

  @fresh
  Scenario: A restore the cluster did not commit is never read back, and the agent holding it resynchronises
    Given a fresh cluster of 3 agents
    And I register "before" at "10.0.0.1:80"
    And I save a snapshot through the leader as "old"
    And I register "after" at "10.0.0.2:80"
    # The leader installs the restore, then cannot commit it: no quorum.
    When I kill every agent but the leader
    And I restore the snapshot "old" through agent ${survivor}
    Then the response status is 503
    # Down while the others elect a leader, it comes back to a later term
    # holding a state the cluster never had.
    When I kill agent ${survivor}
    And I restart the dead agents
    And I restart the killed agent, not waiting for it to be ready
    Then the killed agent refuses to read "after", saying its state diverged
    And the metric "custodes_raft_diverged" of agent ${killed} is at least 1
    When I send "GET" "/service/before?stale" to agent ${killed}
    Then the response status is 503
    And the error mentions "diverged"
    And the killed agent is not a voter
    When the killed agent asks to be restarted, and I restart it
    Then every agent finds 1 instance of "after"
    And every agent becomes ready
    And the killed agent is a voter

  Scenario: Without a cluster key a follower does not forward a restore: the leader takes it
    Given I register "web" at "10.0.0.1:80"
    And I save a snapshot through a follower as "one"
    And I register "api" at "10.0.0.2:80"
    When I restore the snapshot "one" through a follower
    Then the response status is 503
    And the error mentions "send it to the leader"
    And every agent finds 1 instance of "api"
    When I restore the snapshot "one" through the leader
    Then the response status is 200
    And every agent finds 0 instances of "api"
    And every agent finds 1 instance of "web"

  @fresh
  Scenario: With ACLs a snapshot needs a management token
    Given a fresh cluster of 3 agents with ACL default "deny" and an initial management token
    And ACLs are bootstrapped on every agent
    When I send "POST" "/acl/users" to the leader as "initial" with body:
      """
      {"name": "reader", "roles": ["services:read"]}
      """
    And I remember the response "token" as "reader"
    And I save a snapshot through a follower as "none"
    Then the response status is 401
    Given my next request has the header "Authorization: Bearer ${reader}"
    When I save a snapshot through a follower as "none"
    Then the response status is 403
    Given my next request has the header "Authorization: Bearer ${initial}"
    When I save a snapshot through a follower as "full"
    Then the response status is 200
    When I restore the snapshot "full" through the leader
    Then the response status is 401

  @fresh
  Scenario: The file system's index comes back with the state
    Given a fresh file system of 3 agents and 3 file servers with users "alice", "bob" and "carol"
    And "alice" writes the text "kept" as "a.txt" to the leader
    And my next request has the header "Authorization: Bearer ${root}"
    When I save a snapshot through a follower as "files"
    Then the response status is 200
    When "alice" writes the text "later" as "b.txt" to the leader
    And my next request has the header "Authorization: Bearer ${root}"
    And I restore the snapshot "files" through a follower
    Then the response status is 200
    When "alice" reads "a.txt" from the other follower
    Then the response status is 200
    And the body is "kept"
    And "alice" reading "b.txt" of "alice" is 404 on every agent
