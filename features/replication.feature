Feature: Files are copied again when a file server dies or leaves
  When a file server dies its backup answers, and its files are backed up
  again by the sweep: the ring re-forms, the dead server's predecessor's
  files getting a new backup on the next server. A drained server's files
  are copied elsewhere before it leaves.

  @fresh
  Scenario: When a file server dies its backup answers and the sweep backs its files up again
    Given a fresh file system of 3 agents and 4 file servers sweeping every 300ms with users "alice", "bob" and "carol"
    And "alice" has written 12 files
    When "alice" writes 20000 random bytes as "survivor" to a follower
    Then the response status is 201
    When the primary file server of "survivor" is killed
    And "alice" reads "survivor" from the leader
    Then the response status is 200
    And the body is the bytes written as "survivor"
    And within 20 seconds every file has 2 live copies, none on the killed file server
    And the ring re-forms: every file is backed up on the next alive file server after its primary
    When "alice" reads "survivor" from a follower
    Then the response status is 200
    And the body is the bytes written as "survivor"

  @fresh
  Scenario: A drained file server leaves once its files are copied elsewhere
    Given a fresh file system of 3 agents and 4 file servers sweeping every 300ms with users "alice", "bob" and "carol"
    And "alice" has written 12 files
    When the file server "fs2" is drained
    Then within 20 seconds the file server "fs2" is "left" and no file lists it
    And within 20 seconds every file has 2 live copies, none on the killed file server

  @fresh
  Scenario: A file with no live copy is lost, answers 503 rather than 404, and comes back with its server
    Given a fresh file system of 3 agents and 2 file servers sweeping every 300ms with users "alice", "bob" and "carol"
    When "alice" writes 3000 random bytes as "fragile" to a follower
    Then the response status is 201
    When the file server "fs1" is killed
    And the file server "fs2" is killed
    Then within 20 seconds the administrator's view counts 1 lost file
    When "alice" reads "fragile" from a follower
    Then the response status is 503
    And the error mentions "no live copy"
    When the file server "fs2" is restarted
    Then within 20 seconds the administrator's view counts 0 lost files
    When "alice" reads "fragile" from the leader
    Then the response status is 200
    And the body is the bytes written as "fragile"

  @fresh
  Scenario: A file server marked dead while it still answers is marked alive again without restarting
    Cut off for a while (a partition, a long pause), a file server is
    confirmed dead; it never restarts, so it never registers again. The
    leader sees gossip call it alive, probes it and marks it alive.
    Given a fresh file system of 3 agents and 3 file servers sweeping every 300ms with users "alice", "bob" and "carol"
    And "alice" has written 6 files
    When the file server "fs1" is marked dead while it runs
    Then within 10 seconds the file server "fs1" is "alive"
    And within 20 seconds every file has 2 live copies, none on the killed file server
    When I send "GET" "/admin/dfs" to the leader as "root"
    Then the response contains:
      """
      {"servers": [{"id": "fs1", "state": "alive"}], "lost": 0}
      """

  @fresh
  Scenario: When gossip loses every file server while they still answer, nothing is marked dead and writes go on
    Gossip is a hint: the sweep confirms a death with its own probes, and
    a write is placed on the servers the index holds alive when gossip
    calls none of them alive (a loaded leader's gossip can, for a moment).
    Given a fresh file system of 3 agents and 3 file servers sweeping every 300ms with users "alice", "bob" and "carol"
    And "alice" has written 3 files
    When every file server's gossip falls silent while it serves
    Then within 20 seconds gossip on the leader reports no file server alive
    When "alice" writes 30000 random bytes as "despite-gossip" to a follower
    Then the response status is 201
    When "alice" reads "despite-gossip" from the leader
    Then the response status is 200
    And the body is the bytes written as "despite-gossip"
    When I send "GET" "/admin/dfs" to the leader as "root"
    Then the response contains:
      """
      {"servers": [{"id": "fs1", "state": "alive", "gossip": "dead"}, {"id": "fs2", "state": "alive"}, {"id": "fs3", "state": "alive"}], "lost": 0}
      """
