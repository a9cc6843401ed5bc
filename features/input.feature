Feature: Writes come from API clients, never from another site's web page
  A request that carries a body must label it Content-Type: application/json
  (parameters such as charset are allowed); anything else, or no label, is
  refused with 415 before the body is read. A request without a body (a
  DELETE, a heartbeat) needs no label. A state-changing request that a
  browser marks as cross-origin (Sec-Fetch-Site, or an Origin that is not
  the agent's own) is refused with 403; reads always pass, and so do
  clients that send neither header (curl, Go). Refused writes never reach
  the Raft log, on the leader or through a follower.

  Background:
    Given I note the leader's last Raft index as "before"

  Scenario Outline: A JSON body not labelled application/json is refused with 415
    Given my next request has the header "Content-Type: <type>"
    When I send "POST" "/register" to <agent> with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 415
    And the error mentions "<problem>"
    And the response header "Accept" is "application/json"
    And the leader's last Raft index is still "before"
    And every agent finds 0 instances of "web"

    Examples:
      | agent      | type                              | problem                                   |
      | a follower | text/plain                        | "text/plain" is not accepted              |
      | the leader | text/plain                        | "text/plain" is not accepted              |
      | a follower | text/plain; charset=utf-8         | "text/plain" is not accepted              |
      | the leader | application/x-www-form-urlencoded | "application/x-www-form-urlencoded"       |
      | a follower | multipart/form-data; boundary=x   | "multipart/form-data"                     |
      | a follower | application/json; charset         | does not parse                            |

  Scenario Outline: A JSON body without any Content-Type is refused with 415
    Given my next request has no "Content-Type" header
    When I send "POST" "/register" to <agent> with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 415
    And the error mentions "no Content-Type"
    And the error mentions "application/json"
    And the leader's last Raft index is still "before"

    Examples:
      | agent      |
      | a follower |
      | the leader |

  Scenario: An unlabelled update is refused and changes nothing
    Given I register "web" at "10.0.0.1:80"
    And I remember the "id" as "id"
    And I note the leader's last Raft index as "registered"
    And my next request has the header "Content-Type: text/plain"
    When I send "PUT" "/instance/${id}" to a follower with the raw body '{"address": "10.0.0.7:80"}'
    Then the response status is 415
    And the leader's last Raft index is still "registered"

  Scenario: A large unlabelled body is refused as unlabelled, before it is read
    Given my next request has the header "Content-Type: text/plain"
    When I send a body of 1100000 bytes chunked to "/register" on a follower
    Then the response status is 415
    And the leader's last Raft index is still "before"

  Scenario Outline: application/json with parameters is JSON, on the leader and through a follower
    Given my next request has the header "Content-Type: <type>"
    When I send "POST" "/register" to <agent> with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 201
    And every agent finds 1 instance of "web"

    Examples:
      | agent      | type                            |
      | a follower | application/json; charset=utf-8 |
      | the leader | application/json; charset=UTF-8 |
      | a follower | Application/JSON                |

  Scenario: Requests without a body need no Content-Type
    Given I register "job" at "127.0.0.1:9100"
    And I remember the "id" as "id"
    And my next request has no "Content-Type" header
    When I send "PUT" "/instance/${id}/heartbeat" to a follower
    Then the response status is 409
    And the error mentions "no ttl check"
    When I send "DELETE" "/instance/${id}" to a follower
    Then the response status is 200
    And the instance "${id}" is gone from every agent

  Scenario Outline: A browser's cross-origin write is refused with 403
    Given my next request has the header "<header>"
    When I send "POST" "/register" to <agent> with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 403
    And the error mentions "cross-origin"
    And the leader's last Raft index is still "before"
    And every agent finds 0 instances of "web"

    Examples:
      | agent      | header                        |
      | a follower | Sec-Fetch-Site: cross-site    |
      | the leader | Sec-Fetch-Site: cross-site    |
      | a follower | Sec-Fetch-Site: same-site     |
      | a follower | Origin: http://evil.example   |

  Scenario: A cross-site page cannot remove an instance, even without a body
    Given I register "web" at "10.0.0.1:80"
    And I remember the "id" as "id"
    And my next request has the header "Sec-Fetch-Site: cross-site"
    When I send "DELETE" "/instance/${id}" to a follower
    Then the response status is 403
    And every agent finds 1 instance of "web"

  Scenario: A cross-site page can still read
    Given I register "web" at "10.0.0.1:80"
    And my next request has the header "Sec-Fetch-Site: cross-site"
    When I send "GET" "/service/web" to a follower
    Then the response status is 200

  Scenario Outline: The agent's own origin, and a request the user typed, may write
    Given I remember the origin of a follower as "self"
    And my next request has the header "<header>"
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 201

    Examples:
      | header                      |
      | Sec-Fetch-Site: same-origin |
      | Sec-Fetch-Site: none        |
      | Origin: ${self}             |
