Feature: Bad input gets a clear 4xx, never a crash, a hang or a Raft entry
  Every rejected write is refused before it reaches the Raft log, with an
  error that names the problem.

  Background:
    Given the registry is empty
    And I note the leader's last Raft index as "before"

  Scenario Outline: Malformed or wrongly typed registrations are refused
    When I send "POST" "/register" to <agent> with the raw body '<body>'
    Then the response status is 400
    And the error mentions "<problem>"
    And the leader's last Raft index is still "before"

    Examples:
      | agent      | body                                                | problem            |
      | the leader | {"name": "web", "address": "10.0.0.1:80"            | malformed JSON     |
      | a follower | {"name": "web", "address": 5}                       | "address"          |
      | a follower | {"name": "web", "address": "10.0.0.1:80", "tags": "x"} | "tags"          |
      | the leader | {"name": "web", "address": "10.0.0.1:80", "colour": 1} | unknown field   |
      | a follower | []                                                  | JSON object        |
      | the leader |                                                     | empty              |
      | a follower | {"address": "10.0.0.1:80"}                          | name is required   |
      | a follower | {"name": "Web", "address": "10.0.0.1:80"}           | name "Web"         |
      | the leader | {"name": "-web", "address": "10.0.0.1:80"}          | name "-web"        |
      | the leader | {"name": "a234567890123456789012345678901234567890123456789012345678901234", "address": "10.0.0.1:80"} | is invalid |
      | a follower | {"name": "web"}                                     | address is required |
      | a follower | {"name": "web", "address": "10.0.0.1"}              | not host:port      |
      | the leader | {"name": "web", "address": "10.0.0.1:0"}            | port must be       |
      | a follower | {"name": "web", "address": "10.0.0.1:70000"}        | port must be       |
      | a follower | {"name": "web", "address": "10.0.0.1:80", "kind": "Bad Kind"} | kind    |
      | the leader | {"name": "web", "address": "10.0.0.1:80"} {"x": 1}  | exactly one        |

  Scenario: A body over 1 MiB is refused with 413 before it is read whole
    When I send a body of 1100000 bytes to "/register" on a follower
    Then the response status is 413
    And the error mentions "too large"
    And the leader's last Raft index is still "before"

  Scenario: A bad update is refused and changes nothing
    Given I register "web" at "10.0.0.1:80"
    And I remember the response "id" as "id"
    And I note the leader's last Raft index as "registered"
    When I send "PUT" "/instance/${id}" to a follower with body:
      """
      {"address": "nowhere"}
      """
    Then the response status is 400
    And the leader's last Raft index is still "registered"

  Scenario: Unknown paths are 404 and wrong methods 405, in the same error shape
    When I send "GET" "/nope" to a follower
    Then the response status is 404
    And the error mentions "no route"
    When I send "DELETE" "/alive" to the leader
    Then the response status is 405
    And the error mentions "not allowed"
    When I send "GET" "/register" to a follower
    Then the response status is 405

  Scenario Outline: Bad lookup parameters are refused
    When I send "GET" "<path>" to a follower
    Then the response status is 400
    And the error mentions "<problem>"

    Examples:
      | path                          | problem    |
      | /service/web?index=-1         | index      |
      | /service/web?index=1&wait=xyz | wait       |
      | /service/Not_A_Name           | is invalid |

  Scenario: An internal command that does not decode never reaches the log
    When I send "POST" "/internal/apply" to the leader with the raw body '{"not": "a command"}'
    Then the response status is 400
    And the error mentions "command"
    And the leader's last Raft index is still "before"
