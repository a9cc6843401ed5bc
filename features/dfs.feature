Feature: The directory of the distributed file system
  Every agent answers the file system's clients. The agent that receives a
  request moves the bytes itself, straight between the client and the
  file servers; only the metadata (placement, commit, lock, share) goes to
  the Raft leader. Every call carries a user's token. alice, bob and carol
  are users of a cluster of 3 agents and 3 file servers, keeping 2 copies
  of every file.

  Background:
    Given a file system of 3 agents and 3 file servers with users "alice", "bob" and "carol"

  Scenario: A file written through a follower reads back byte for byte from any agent
    When "alice" writes 5000 random bytes as "notes/a.bin" to a follower
    Then the response status is 201
    And the response contains:
      """
      {"name": "notes/a.bin", "owner": "alice", "version": 1, "size": 5000}
      """
    And the response has 2 "replicas"
    And the response header "X-Custodes-Served-By" names the leader
    When "alice" reads "notes/a.bin" from the other follower
    Then the response status is 200
    And the body is the bytes written as "notes/a.bin"
    And the response header "X-Custodes-Version" is "1"
    And the response header "ETag" is the SHA-256 of the bytes written as "notes/a.bin"
    When I send "GET" "/read?name=notes/a.bin" to the leader as "alice" with the header "Range: bytes=10-19"
    Then the response status is 206
    And the body is bytes 10 to 19 of "notes/a.bin"
    And the response header "Content-Range" is "bytes 10-19/5000"
    When I send "GET" "/read?name=notes/a.bin" to the leader as "alice" with the header "Range: bytes=5000-"
    Then the response status is 416
    When I send "GET" "/stat?name=notes/a.bin" to a follower as "alice"
    Then the response status is 200
    And every element of "replica_states" contains:
      """
      {"state": "alive"}
      """

  Scenario: An empty file and a one-byte file
    When "alice" writes 0 random bytes as "empty" to the leader
    Then the response status is 201
    When "alice" writes 1 random bytes as "one" to a follower
    Then the response status is 201
    When "alice" reads "empty" from a follower
    Then the response status is 200
    And the body is the bytes written as "empty"
    When "alice" reads "one" from the leader
    Then the body is the bytes written as "one"

  Scenario: A new file goes to the least-loaded file server and is backed up on its ring successor
    Given "alice" has written 4 files
    When I note the file servers' loads
    And "alice" writes 100 random bytes as "placed" to a follower
    Then the response status is 201
    And the file "placed" is on the least-loaded file server noted, backed up on its ring successor
    And the copies of every file of "alice" are on distinct file servers

  Scenario: Names are keys, never paths
    When I send "POST" "/write?name=../../etc/passwd" to a follower as "alice" with body:
      """
      x
      """
    Then the response status is 400
    And the error mentions ".."
    When I send "POST" "/write?name=a//b" to a follower as "alice" with body:
      """
      x
      """
    Then the response status is 400
    When I send "POST" "/write?name=a%00b" to a follower as "alice" with body:
      """
      x
      """
    Then the response status is 400
    When "alice" writes a file whose name is 2048 bytes long
    Then the response status is 400
    When I send "GET" "/all" to the leader as "alice"
    Then the response has 0 "files"

  Scenario: A name is written once; a second write of it is a conflict
    When "alice" writes 10 random bytes as "once" to the leader
    Then the response status is 201
    When "alice" writes 10 random bytes as "once" to a follower
    Then the response status is 409
    When "bob" writes 10 random bytes as "once" to a follower
    Then the response status is 201

  Scenario: Without a user's token the file system answers 401
    When I send "GET" "/all" to a follower
    Then the response status is 401
    When I send "POST" "/write?name=x" to a follower with body:
      """
      x
      """
    Then the response status is 401

  Scenario: One user never sees another's unshared files
    When "alice" writes 10 random bytes as "private" to the leader
    And I send "GET" "/read?name=private&owner=alice" to a follower as "carol"
    Then the response status is 404
    When I send "GET" "/stat?name=private&owner=alice" to a follower as "carol"
    Then the response status is 404
    When I send "GET" "/read?name=nothing-here&owner=alice" to a follower as "carol"
    Then the response status is 404
    When I send "GET" "/all" to a follower as "carol"
    Then the response has 0 "files"

  Scenario: Sharing read-only lets the other user read but not lock or update; revoking works at once on every agent
    When "alice" writes 300 random bytes as "shared" to the leader
    And I send "POST" "/share" to a follower as "alice" with body:
      """
      {"name": "shared", "with": "bob", "mode": "read"}
      """
    Then the response status is 200
    When "bob" reads "shared" of "alice" from the other follower
    Then the response status is 200
    And the body is the bytes written as "shared"
    When I send "GET" "/all" to the leader as "bob"
    Then the response contains:
      """
      {"files": [{"name": "shared", "owner": "alice", "access": "read"}]}
      """
    When I send "POST" "/lock?name=shared&owner=alice" to a follower as "bob"
    Then the response status is 403
    When I send "POST" "/share" to the leader as "alice" with body:
      """
      {"name": "shared", "with": "bob", "mode": "none"}
      """
    Then the response status is 200
    And "bob" reading "shared" of "alice" is 404 on every agent
    When I send "POST" "/share" to the leader as "alice" with body:
      """
      {"name": "shared", "with": "nobody", "mode": "read"}
      """
    Then the response status is 404
    When I send "POST" "/share" to the leader as "bob" with body:
      """
      {"name": "shared", "with": "carol", "mode": "read"}
      """
    Then the response status is 404
    When I send "POST" "/share" to the leader as "alice" with body:
      """
      {"name": "shared", "with": "bob", "mode": "admin"}
      """
    Then the response status is 400

  Scenario: The lock: one holder at a time, a fence that grows, the lock service's check
    When "alice" writes 10 random bytes as "locked" to the leader
    And I send "POST" "/share" to the leader as "alice" with body:
      """
      {"name": "locked", "with": "bob", "mode": "write"}
      """
    And I send "POST" "/lock?name=locked&ttl=30s" to a follower as "alice"
    Then the response status is 200
    And the response has the fields "token,fence,expires"
    And I remember the response "token" as "lock1"
    And I remember the response "fence" as "fence1"
    And I remember the response "file" as "fileid"
    When I send "POST" "/lock?name=locked&owner=alice" to the other follower as "bob"
    Then the response status is 409
    And the response contains:
      """
      {"holder": "alice"}
      """
    When I send "GET" "/access?file=${fileid}&token=${lock1}" to a follower as "carol"
    Then the response status is 200
    And the response contains:
      """
      {"valid": true, "holder": "alice"}
      """
    When I send "GET" "/access?file=${fileid}&token=not-the-token" to a follower as "carol"
    Then the response contains:
      """
      {"valid": false}
      """
    When I send "POST" "/unlock?name=locked&owner=alice" to a follower as "bob" with the header "X-Lock-Token: not-the-token"
    Then the response status is 409
    When I send "POST" "/unlock?name=locked" to a follower as "alice" with the header "X-Lock-Token: ${lock1}"
    Then the response status is 200
    When I send "POST" "/lock?name=locked&owner=alice&ttl=1s" to the leader as "bob"
    Then the response status is 200
    And the response "fence" is greater than ${fence1}
    When I send "POST" "/lock?name=locked&ttl=10m" to the leader as "alice"
    Then the response status is 400

  Scenario: An update without a valid lock token is refused; with it the new version replaces the old
    When "alice" writes the text "version one" as "doc" to the leader
    And I send "POST" "/update?name=doc" to a follower as "alice" with the header "X-Lock-Token: made-up"
    Then the response status is 423
    When I send "POST" "/lock?name=doc" to a follower as "alice"
    And I remember the response "token" as "lk"
    And "alice" updates "doc" with the text "version two" and the lock token "${lk}" on the other follower
    Then the response status is 200
    And the response contains:
      """
      {"version": 2, "size": 11}
      """
    When "alice" reads "doc" from the leader
    Then the body is "version two"
    And the response header "X-Custodes-Version" is "2"

  Scenario: An expired lock lets the next holder in, and the old holder's update is refused
    When "alice" writes the text "v1" as "race" to the leader
    And I send "POST" "/share" to the leader as "alice" with body:
      """
      {"name": "race", "with": "bob", "mode": "write"}
      """
    And I send "POST" "/lock?name=race&ttl=1s" to a follower as "alice"
    And I remember the response "token" as "old"
    Then "bob" gets the lock of "race" of "alice" within 3 seconds, remembered as "new"
    When "alice" updates "race" with the text "late" and the lock token "${old}" on the leader
    Then the response status is 423
    When "bob" updates "race" of "alice" with the text "bob's" and the lock token "${new}" on a follower
    Then the response status is 200
    When "alice" reads "race" from the other follower
    Then the body is "bob's"

  Scenario: Deleting a file takes it out of the index at once
    When "alice" writes 64 random bytes as "gone" to the leader
    And I send "DELETE" "/file?name=gone" to a follower as "alice"
    Then the response status is 200
    When "alice" reads "gone" from the other follower
    Then the response status is 404
    When I send "DELETE" "/file?name=gone" to a follower as "alice"
    Then the response status is 404

  Scenario: The administrator's view of the file servers (an admin view, as /admin/raft)
    When I send "GET" "/admin/dfs" to a follower as "root"
    Then the response status is 200
    And the response has 3 "servers"
    And every element of "servers" contains:
      """
      {"state": "alive", "gossip": "alive"}
      """

  Scenario: File servers register only with the cluster key
    When I send "POST" "/dfs/register" to a follower with body:
      """
      {"id": "intruder", "address": "127.0.0.1:1"}
      """
    Then the response status is 401

  Scenario: A file over the size limit is refused
    When "alice" writes 5000000 random bytes as "huge" to a follower
    Then the response status is 413
    When I send "GET" "/all" to the leader as "alice"
    Then the response has 0 "files"
