Feature: The operators' command line
  `custodes members`, `raft`, `services`, `register`, `watch`, `events`,
  `files`, `dfs`, `users` and `snapshot` talk to any agent (--http or
  CUSTODES_HTTP_ADDR, a token from CUSTODES_TOKEN) and print aligned tables
  for people or, with -json, the API's JSON for scripts. Scripts can rely
  on the exit code: 0 ok, 1 an error (the API's status and message on
  stderr), 2 a usage error.

  Scenario: members and raft show the three agents and the leader
    When I run "custodes members"
    Then it exits 0
    And the output has 1 line matching "^NAME +ROLE +STATE +HTTP +RAFT +GOSSIP$"
    And the output has 3 lines matching "^node[123] +registry +alive +127\.0\.0\.1:\d+ "
    When I note the leader's node id as "leader.id"
    And I run "custodes raft" against a follower
    Then it exits 0
    And the output has 1 line matching "^ID +ADDRESS +STATE +VOTER +LAST INDEX$"
    And the output has 1 line matching "^${leader.id} +127\.0\.0\.1:\d+ +leader +yes +\d+$"
    And the output has 2 lines matching "^node[123] +127\.0\.0\.1:\d+ +follower +yes +\d+$"
    When I run "custodes raft -json"
    Then it exits 0
    And the JSON output contains:
      """
      {"leader": {"id": "${leader.id}"}, "servers": [{"suffrage": "Voter"}]}
      """

  Scenario: an instance registered through the CLI is listed by services
    When I run "custodes register --name web --address 10.0.0.1 --port 8080 --version 1.2.0 --tag blue,canary --meta env=prod"
    Then it exits 0
    And I remember the output as "web.id"
    When I run "custodes services" against agent 2
    Then it exits 0
    And the output has 1 line matching "^web +1 +1 +0$"
    When I run "custodes services web" against agent 3
    Then it exits 0
    And the output has 1 line matching "^${web.id} +10\.0\.0\.1:8080 +1\.2\.0 +passing .* blue,canary +env=prod$"
    When I run "custodes services web -json"
    Then it exits 0
    And the JSON output contains:
      """
      {"name": "web", "instances": [{"id": "${web.id}", "address": "10.0.0.1:8080", "version": "1.2.0",
        "tags": ["blue", "canary"], "meta": {"env": "prod"}, "status": "passing"}]}
      """

  Scenario: deregister removes the instance, and a second time names the problem
    Given I run "custodes register --name api --address 10.0.0.2:80"
    And I remember the output as "api.id"
    When I run "custodes deregister ${api.id}" against a follower
    Then it exits 0
    And the output contains "deregistered ${api.id}"
    When I run "custodes services api"
    Then it exits 1
    And the error output contains "custodes: 404 not found: service "api" has no instances"
    When I run "custodes deregister ${api.id}"
    Then it exits 1
    And the error output contains "custodes: 404"
    And the error output contains "${api.id}"

  Scenario: watch prints a change made after it started
    Given I run "custodes register --name cache --address 10.0.0.3:6379"
    When I start the command "custodes watch cache --count 1 --timeout 20s" in the background as "watch"
    And the background command "watch" has printed "present"
    And I run "custodes register --name cache --address 10.0.0.4:6379" against a follower
    Then the background command "watch" exits 0 within 10 seconds
    And the output has 1 line matching "^\d+ +present +\S+ +10\.0\.0\.3:6379 +passing$"
    And the output has 1 line matching "^\d+ +registered +\S+ +10\.0\.0\.4:6379 +passing$"

  Scenario: watch without a change before its timeout fails
    When I run "custodes watch quiet --count 1 --timeout 300ms"
    Then it exits 1
    And the output contains "service "quiet" has no instances"
    And the error output contains "0 of 1 changes within 300ms"

  Scenario: events prints each event, as a line or as JSON
    When I start the command "custodes events --count 1 --timeout 20s" in the background as "events"
    And the background command "events" has printed "following events after index"
    And I run "custodes register --name queue --address 10.0.0.5:5672" against agent 2
    Then the background command "events" exits 0 within 10 seconds
    And the output has 1 line matching "^\d+ +registered +queue \S+ 10\.0\.0\.5:5672 passing$"
    When I start the command "custodes events --count 1 --timeout 20s -json" in the background as "json"
    And the background command "json" has printed "following events after index"
    And I run "custodes register --name queue --address 10.0.0.6:5672"
    Then the background command "json" exits 0 within 10 seconds
    And the JSON output contains:
      """
      {"type": "registered", "instance": {"name": "queue", "address": "10.0.0.6:5672"}}
      """

  Scenario Outline: a usage error exits 2 and says what is wrong
    When I run "<command>"
    Then it exits 2
    And the error output contains "<message>"

    Examples:
      | command                                   | message                              |
      | custodes bogus                            | unknown command "bogus"              |
      | custodes services web extra               | unexpected arguments ["extra"]       |
      | custodes register --name web              | --name and --address are required    |
      | custodes members --colour                 | flag provided but not defined        |
      | custodes files share a.txt bob everything | mode "everything": read, write or none |
      | custodes snapshot                         | custodes snapshot: which one?        |
      | custodes raft remove-peer                 | ID                                   |
      | custodes dfs drain a b                    | unexpected arguments ["b"]           |

  Scenario: an API error exits 1 with the API's status and message
    When I run "custodes register --name Not_A_Name --address 10.0.0.1:80"
    Then it exits 1
    And the error output contains "custodes: 400"
    And the error output contains "name "Not_A_Name" is invalid"
    When I run "custodes register --name web --address 10.0.0.1:80 --check-ttl soon"
    Then it exits 1
    And the error output contains "custodes: 400 invalid request: check.ttl "soon" is not a positive duration"
    When I run "custodes raft remove-peer no-such-agent"
    Then it exits 1
    And the error output contains "custodes: 404"
    And the error output contains "no-such-agent"

  @fresh
  Scenario: files put, get, ls, stat, lock, unlock, share and rm, and dfs shows the servers
    Given a fresh file system of 3 agents and 3 file servers with users "alice", "bob" and "carol"
    And a local file "big.bin" of 3145728 random bytes
    When I run "custodes files put ${dir}/big.bin data/big.bin" as "alice"
    Then it exits 0
    And the output contains "wrote data/big.bin: version 1, 3.0 MiB"
    When I run "custodes files get data/big.bin ${dir}/copy.bin" as "alice" against agent 3
    Then it exits 0
    And the local files "big.bin" and "copy.bin" have the same bytes
    Given a proxy to agent 2 that stalls after 1048576 bytes of each answer, as "stall"
    When I run "custodes files get data/big.bin ${dir}/stalled.bin --http ${stall} --idle-timeout 1s" as "alice"
    Then it exits 1
    And the error output contains "no data from the agent for 1s: given up (--idle-timeout)"
    And there is no local file "stalled.bin"
    When I run "custodes files put - notes.txt" as "alice" with the input "hello from stdin"
    Then it exits 0
    When I run "custodes files get notes.txt" as "alice" against agent 2
    Then it exits 0
    And the output contains "hello from stdin"
    When I run "custodes files ls" as "alice"
    Then it exits 0
    And the output has 1 line matching "^data/big\.bin +alice +owner +1 +3\.0 MiB +[0-9a-f]{12}$"
    And the output has 1 line matching "^notes\.txt +alice +owner +1 +16 B "
    When I run "custodes files stat data/big.bin -json" as "alice"
    Then it exits 0
    And the JSON output contains:
      """
      {"name": "data/big.bin", "owner": "alice", "version": 1, "size": 3145728, "access": "owner"}
      """
    When I run "custodes files lock data/big.bin --ttl 30s" as "alice"
    Then it exits 0
    And I remember the output as "lock"
    When I run "custodes files lock data/big.bin" as "alice"
    Then it exits 1
    And the error output contains "custodes: 409"
    When I run "custodes files put --lock-token ${lock} - data/big.bin" as "alice" with the input "version two"
    Then it exits 0
    And the output contains "updated data/big.bin: version 2"
    When I run "custodes files unlock data/big.bin --lock-token ${lock}" as "alice"
    Then it exits 0
    When I run "custodes files get data/big.bin --owner alice" as "bob"
    Then it exits 1
    And the error output contains "custodes: 404"
    When I run "custodes files share data/big.bin bob read" as "alice"
    Then it exits 0
    When I run "custodes files get data/big.bin --owner alice" as "bob"
    Then it exits 0
    And the output contains "version two"
    When I run "custodes dfs" as "root"
    Then it exits 0
    And the output has 3 lines matching "^[123] +fs[123] +127\.0\.0\.1:\d+ +alive +alive +\d+ +"
    When I run "custodes dfs drain fs3" as "alice"
    Then it exits 1
    And the error output contains "custodes: 403"
    When I run "custodes dfs drain fs3" as "root"
    Then it exits 0
    And the output contains "fs3 is draining"
    When I run "custodes dfs" as "root"
    Then it exits 0
    And the output has 1 line matching "^\d +fs3 +127\.0\.0\.1:\d+ +(draining|left) +"
    When I run "custodes files rm data/big.bin" as "alice"
    Then it exits 0
    When I run "custodes files stat data/big.bin" as "alice"
    Then it exits 1
    And the error output contains "custodes: 404"

  @fresh
  Scenario: users are created, listed, rotated and removed with ACLs on
    Given a fresh cluster of 3 agents with ACL default "deny"
    When I run "custodes services"
    Then it exits 1
    And the error output contains "custodes: 401"
    When I run "custodes acl bootstrap"
    Then it exits 0
    And I remember the output as "root"
    When I run "custodes users create ci --role services:write,services:read" as "root"
    Then it exits 0
    And I remember the output as "ci"
    When I run "custodes users ls" as "root" against agent 2
    Then it exits 0
    And the output has 1 line matching "^ci +services:write,services:read +\d+ +\d+$"
    When I run "custodes register --name web --address 10.0.0.9:80" as "ci" against agent 3
    Then it exits 0
    When I run "custodes users ls" as "ci"
    Then it exits 1
    And the error output contains "custodes: 403"
    When I run "custodes snapshot save ${dir}/acl.snap" as "ci"
    Then it exits 1
    And the error output contains "custodes: 403"
    When I run "custodes snapshot save ${dir}/acl.snap" as "root"
    Then it exits 0
    When I run "custodes acl whoami" as "ci"
    Then the output has 1 line matching "^ci +services:write,services:read$"
    When I run "custodes users rotate ci" as "root"
    Then it exits 0
    And I remember the output as "ci.new"
    When I run "custodes services web" as "ci"
    Then it exits 1
    And the error output contains "custodes: 401"
    When I run "custodes services web" as "ci.new"
    Then it exits 0
    When I run "custodes users rm ci" as "root"
    Then it exits 0
    When I run "custodes services web" as "ci.new"
    Then it exits 1
    And the error output contains "custodes: 401"
    When I run "custodes users ls" as "root"
    Then it exits 0
    And the output has 0 lines matching "^ci "

  @fresh
  Scenario: snapshot save, then restore through another agent, signed with the cluster key
    Given a fresh cluster of 3 agents sharing a cluster key
    And I run "custodes register --name keep --address 10.0.0.7:80"
    When I run "custodes snapshot save ${dir}/state.snap" against a follower
    Then it exits 1
    And the error output contains "custodes: 401"
    When I run "custodes snapshot save ${dir}/state.snap --encrypt ${cluster.key}" against a follower
    Then it exits 0
    And the output contains "saved the state at index"
    When I run "custodes register --name later --address 10.0.0.8:80"
    And I run "custodes snapshot restore ${dir}/state.snap --encrypt ${cluster.key}" against the other follower
    Then it exits 0
    And the output contains "restored ${dir}/state.snap: the state of index"
    And every agent finds 1 instance of "keep"
    And every agent finds 0 instances of "later"
    Given a local file "garbage.snap" of 5000 random bytes
    When I run "custodes snapshot restore ${dir}/garbage.snap --encrypt ${cluster.key}" against the leader
    Then it exits 1
    And the error output contains "custodes: 400"
    And every agent finds 1 instance of "keep"

  @fresh
  Scenario: over TLS the CLI trusts the cluster's CA
    Given a fresh cluster of 3 agents over TLS
    And I note the cluster's CA certificate file as "ca"
    When I run "custodes members"
    Then it exits 1
    And the error output contains "certificate"
    When I run "custodes members --tls-ca ${ca}" against a follower
    Then it exits 0
    And the output has 3 lines matching "^node[123] +registry +alive "
    When I run "custodes register --name secure --address 10.0.0.10:443 --tls-ca ${ca}"
    Then it exits 0
    When I run "custodes services secure --tls-ca ${ca}" against agent 3
    Then it exits 0
    And the output has 1 line matching " 10\.0\.0\.10:443 +- +passing "
