Feature: Bad input gets a clear 4xx, never a crash, a hang or a Raft entry
  Every rejected write is refused before it reaches the Raft log, with an
  {"error"} that names the problem.

  Background:
    Given I note the leader's last Raft index as "before"

  Scenario Outline: Malformed or wrongly typed registrations are refused
    When I send "POST" "/register" to <agent> with the raw body '<body>'
    Then the response status is 400
    And the error mentions "<problem>"
    And the leader's last Raft index is still "before"

    Examples:
      | agent      | body                                                           | problem             |
      | the leader | {"name": "web", "address": "10.0.0.1:80"                       | malformed JSON      |
      | a follower | {"name": "web" "address": "10.0.0.1:80"}                       | malformed JSON      |
      | a follower | {"name": "web", "address": 5}                                  | "address"           |
      | the leader | {"name": 7, "address": "10.0.0.1:80"}                          | "name"              |
      | a follower | {"name": "web", "address": "10.0.0.1:80", "version": 1}        | "version"           |
      | a follower | {"name": "web", "address": "10.0.0.1:80", "tags": "x"}         | "tags"              |
      | the leader | {"name": "web", "address": "10.0.0.1:80", "meta": {"a": 1}}    | "meta               |
      | the leader | {"name": "web", "address": "10.0.0.1:80", "colour": 1}         | unknown field       |
      | a follower | []                                                             | JSON object         |
      | the leader |                                                                | empty               |
      | the leader | {"name": "web", "address": "10.0.0.1:80"} {"x": 1}             | exactly one         |

  Scenario Outline: Registrations with an invalid name or address are refused
    When I send "POST" "/register" to <agent> with body:
      """
      {"name": "<name>", "address": "<address>"}
      """
    Then the response status is 400
    And the error mentions "<problem>"
    And the leader's last Raft index is still "before"

    Examples:
      | agent      | name                                                             | address         | problem             |
      | a follower |                                                                  | 10.0.0.1:80     | name is required    |
      | a follower | Web                                                              | 10.0.0.1:80     | name "Web"          |
      | the leader | -web                                                             | 10.0.0.1:80     | name "-web"         |
      | a follower | web_1                                                            | 10.0.0.1:80     | is invalid          |
      | the leader | a234567890123456789012345678901234567890123456789012345678901234 | 10.0.0.1:80     | is invalid          |
      | a follower | web                                                              |                 | address is required |
      | a follower | web                                                              | 10.0.0.1        | not host:port       |
      | the leader | web                                                              | :80             | no valid host       |
      | the leader | web                                                              | 10.0.0.1:0      | port must be        |
      | a follower | web                                                              | 10.0.0.1:70000  | port must be        |
      | a follower | web                                                              | 10.0.0.1:http   | port must be        |

  Scenario: A name of 63 characters is the longest accepted
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "a23456789012345678901234567890123456789012345678901234567890123", "address": "10.0.0.1:80"}
      """
    Then the response status is 201

  Scenario Outline: A body over 1 MiB is refused with 413 before it is read whole
    When I send a body of 1100000 bytes <how> to "/register" on <agent>
    Then the response status is 413
    And the error mentions "too large"
    And the leader's last Raft index is still "before"

    Examples:
      | how                   | agent      |
      | declaring its length  | a follower |
      | declaring its length  | the leader |
      | chunked               | a follower |
      | chunked               | the leader |

  Scenario Outline: A bad update is refused and changes nothing
    Given I register "web" at "10.0.0.1:80"
    And I remember the "id" as "id"
    And I note the leader's last Raft index as "registered"
    When I send "PUT" "/instance/${id}" to a follower with the raw body '<body>'
    Then the response status is 400
    And the error mentions "<problem>"
    And the leader's last Raft index is still "registered"
    And every agent finds 1 instance of "web"

    Examples:
      | body                      | problem          |
      | {"address": "nowhere"}    | not host:port    |
      | {"address": "a:99999"}    | port must be     |
      | {"version": 2}            | "version"        |
      | {"kind": "Not A Kind"}    | kind             |
      | {"tags": [1]}             | "tags"           |
      | {"owner": "me"}           | unknown field    |
      | {"version": "2"           | malformed JSON   |

  Scenario: Unknown paths are 404 and wrong methods 405, in the same error shape
    When I send "GET" "/nope" to a follower
    Then the response status is 404
    And the error mentions "no route"
    When I send "DELETE" "/alive" to the leader
    Then the response status is 405
    And the error mentions "not allowed"
    When I send "GET" "/register" to a follower
    Then the response status is 405
    And the error mentions "not allowed"
    When I send "PATCH" "/instance/some-id" to agent 1
    Then the response status is 405
    And the error mentions "not allowed"
    And the leader's last Raft index is still "before"

  Scenario Outline: Bad lookup parameters are refused
    When I send "GET" "<path>" to a follower
    Then the response status is 400
    And the error mentions "<problem>"

    Examples:
      | path                          | problem    |
      | /service/web?index=-1         | index      |
      | /service/web?index=abc        | index      |
      | /service/web?index=1&wait=xyz | wait       |
      | /service/web?index=1&wait=-1s | wait       |
      | /service/web?wait=10          | wait       |
      | /service/Not_A_Name           | is invalid |

  Scenario: An internal command that does not decode never reaches the log
    When I send "POST" "/internal/v1/apply" to the leader with the raw body '{"not": "a command"}'
    Then the response status is 400
    And the error mentions "apply call"
    And the leader's last Raft index is still "before"

  Scenario Outline: A write to an id the leader does not know is answered 404 without a Raft entry
    When I send "<method>" "<path>" to <agent> with the raw body '<body>'
    Then the response status is 404
    And the error mentions "not found"
    And the leader's last Raft index is still "before"

    Examples:
      | method | path                            | agent      | body              |
      | PUT    | /instance/no-such-id            | the leader | {"version": "2"}  |
      | PUT    | /instance/no-such-id            | a follower | {"version": "2"}  |
      | DELETE | /instance/no-such-id            | the leader |                   |
      | DELETE | /instance/no-such-id            | a follower |                   |
      | PUT    | /instance/no-such-id/heartbeat  | a follower |                   |
