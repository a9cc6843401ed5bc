Feature: Agents serve and talk over TLS
  An agent started with --tls-cert, --tls-key and --tls-ca serves the API
  over HTTPS only. Agents call each other over HTTPS and speak Raft over
  TLS, each presenting a certificate from the cluster's CA and verifying
  the other's against it (--tls-verify-incoming, on by default). Clients
  of the public API need no certificate, only trust in the CA, but the
  agents' own routes (/internal/) refuse a caller without an agent's
  certificate, and a certificate from another CA fails the handshake.

  @fresh
  Scenario: A TLS cluster forms, serves and admits a new agent
    Given a fresh cluster of 3 agents over TLS
    Then the cluster has 3 voters
    When I register "secure" at "10.0.0.1:80" through a follower
    Then the response status is 201
    And every agent finds 1 instance of "secure"
    When I start a new agent with a fresh id
    Then the new agent is a voter
    And every agent finds 1 instance of "secure"

  @fresh
  Scenario: A plain-HTTP client is refused by a TLS agent
    Given a fresh cluster of 3 agents over TLS
    When I send "POST" "/register" to the leader over plain HTTP with body:
      """
      {"name": "plain", "address": "10.0.0.2:80"}
      """
    Then the response status is 400
    And the response body mentions "HTTP request to an HTTPS server"
    And searching for "plain" finds 0 instances

  @fresh
  Scenario: The internal routes need an agent's certificate
    Given a fresh cluster of 3 agents over TLS
    When I send "GET" "/internal/v1/read-index" to the leader
    Then the response status is 401
    And the response contains:
      """
      {"code": "no_client_cert", "error": "agent-to-agent calls need a client certificate from the cluster's CA"}
      """
    When I send "GET" "/internal/v1/read-index" to the leader with an agent's certificate
    Then the response status is 200
    When I send "GET" "/internal/v1/read-index" to the leader with a certificate from another CA
    Then the request is refused in the TLS handshake

  @fresh
  Scenario: An agent with a certificate from another CA stays out of Raft
    Given a fresh cluster of 3 agents over TLS
    When I start an agent with a certificate from another CA
    And I register "guarded" at "10.0.0.3:80" through a follower
    Then the response status is 201
    And the stranger receives nothing over Raft for 2 seconds
    And the cluster has 3 voters
    And every agent finds 1 instance of "guarded"
