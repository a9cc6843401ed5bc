Feature: The file system when file servers die or are missing
  When a file's server is dead its backup answers, and new files go to
  the servers that are alive. With none alive nothing is written.

  @fresh
  Scenario: A read is answered by the backup when the file's server is dead
    Given a fresh file system of 3 agents and 3 file servers with users "alice", "bob" and "carol"
    When "alice" writes 200000 random bytes as "survivor" to a follower
    Then the response status is 201
    When the primary file server of "survivor" is killed
    And "alice" reads "survivor" from the leader
    Then the response status is 200
    And the body is the bytes written as "survivor"
    When "alice" writes 100 random bytes as "after" to a follower
    Then the response status is 201
    And the file "after" is not on the killed file server
    When I open an event stream on a follower
    And the killed file server is restarted
    Then the event stream delivers a "file-server" event for file server "${killed}"
    And "alice" reads "survivor" from a follower
    And the body is the bytes written as "survivor"

  @fresh
  Scenario: With no file server alive nothing is written
    Given a fresh file system of 3 agents and 0 file servers with users "alice", "bob" and "carol"
    When "alice" writes 10 random bytes as "nowhere" to a follower
    Then the response status is 503
    When I send "GET" "/all" to the leader as "alice"
    Then the response has 0 "files"
