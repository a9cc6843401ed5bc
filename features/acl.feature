Feature: Tokens and users
  ACLs are bootstrapped once per cluster (POST /acl/bootstrap, or an
  initial management token given to the agents), which creates the
  management user. Management creates users with roles: management
  (everything), services:write (register, update, deregister, heartbeat,
  and read) and services:read (lookups, /services, /events, /instance).
  Tokens go in "Authorization: Bearer TOKEN"; the cluster keeps only their
  SHA-256. With --acl-default deny, no token is 401 and a token without
  the role is 403 on every route but /alive, /ready and the bootstrap;
  with allow (the default) requests without a token work as before.
  Once bootstrapped, user management and the admin routes that change
  membership need a management token in both modes.

  @fresh
  Scenario: Under deny, the token's roles decide
    Given a fresh cluster of 3 agents with ACL default "deny"
    When I send "GET" "/services" to a follower
    Then the response status is 401
    When I send "GET" "/alive" to a follower
    Then the response status is 200
    When I send "POST" "/acl/bootstrap" to a follower
    Then the response status is 200
    And the response contains:
      """
      {"name": "management", "roles": ["management"]}
      """
    And I remember the response "token" as "root"
    When I send "POST" "/acl/bootstrap" to the leader
    Then the response status is 403
    When I send "POST" "/acl/users" to the leader as "root" with body:
      """
      {"name": "reader", "roles": ["services:read"]}
      """
    Then the response status is 201
    And the response contains:
      """
      {"name": "reader", "roles": ["services:read"]}
      """
    And I remember the response "token" as "reader"
    When I send "POST" "/acl/users" to a follower as "root" with body:
      """
      {"name": "reader", "roles": ["services:write"]}
      """
    Then the response status is 409
    When I send "POST" "/acl/users" to a follower as "root" with body:
      """
      {"name": "Not A Name", "roles": ["services:write"]}
      """
    Then the response status is 400
    When I send "POST" "/register" to a follower as "reader" with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 403
    And the error mentions "services:write"
    When I send "GET" "/services" to the other follower as "reader"
    Then the response status is 200
    When I send "GET" "/acl/whoami" to a follower as "reader"
    Then the response contains:
      """
      {"name": "reader", "roles": ["services:read"]}
      """
    When I send "GET" "/admin/raft" to a follower as "reader"
    Then the response status is 200
    When I send "GET" "/acl/users" to a follower as "reader"
    Then the response status is 403
    When I send "POST" "/admin/raft/remove-peer" to a follower as "reader" with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 403
    When I send "POST" "/acl/users" to a follower as "root" with body:
      """
      {"name": "ci", "roles": ["services:write"]}
      """
    Then the response status is 201
    And I remember the response "token" as "ci"
    When I send "POST" "/register" to the other follower as "ci" with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 201
    When I send "GET" "/service/web" to the leader as "ci"
    Then the response status is 200
    When my next request has the header "Authorization: Bearer not-a-token-anyone-holds"
    And I send "GET" "/service/web" to the leader
    Then the response status is 401

  @fresh
  Scenario: Deleted and rotated tokens stop working at once on every agent, and no token is ever stored or logged
    Given a fresh cluster of 3 agents with ACL default "deny" and an initial management token
    Then ACLs are bootstrapped on every agent
    When I send "POST" "/acl/bootstrap" to a follower
    Then the response status is 403
    When I send "GET" "/acl/whoami" to a follower as "initial"
    Then the response contains:
      """
      {"name": "management", "roles": ["management"]}
      """
    When I send "POST" "/acl/users" to a follower as "initial" with body:
      """
      {"name": "ci", "roles": ["services:write"]}
      """
    Then the response status is 201
    And I remember the response "token" as "ci.old"
    When I send "POST" "/acl/users/ci/token" to a follower as "initial"
    Then the response status is 200
    And I remember the response "token" as "ci"
    When I send "GET" "/services" to the other follower as "ci.old"
    Then the response status is 401
    When I send "GET" "/services" to the other follower as "ci"
    Then the response status is 200
    When I send "DELETE" "/acl/users/ci" to a follower as "initial"
    Then the response status is 200
    When I send "GET" "/services" to the other follower as "ci"
    Then the response status is 401
    When I send "GET" "/services" to the leader as "ci"
    Then the response status is 401
    When I send "GET" "/acl/users" to the leader as "initial"
    Then the response has 1 "users"
    When every agent has snapshotted its state
    Then the tokens "initial, ci.old, ci" appear in no agent's data directory or logs

  @fresh
  Scenario: Under allow, requests without a token work, but management needs its token once bootstrapped
    Given a fresh cluster of 3 agents with ACL default "allow"
    When I send "POST" "/admin/raft/remove-peer" to a follower with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 401
    And the error mentions "cluster key"
    When I send "POST" "/acl/users" to a follower with body:
      """
      {"name": "early", "roles": ["management"]}
      """
    Then the response status is 401
    When I send "POST" "/acl/bootstrap" to the leader
    Then the response status is 200
    And I remember the response "token" as "root"
    When I send "POST" "/acl/users" to a follower as "root" with body:
      """
      {"name": "reader", "roles": ["services:read"]}
      """
    Then I remember the response "token" as "reader"
    When I send "POST" "/register" to a follower with body:
      """
      {"name": "web", "address": "10.0.0.1:80"}
      """
    Then the response status is 201
    When I send "POST" "/register" to a follower as "reader" with body:
      """
      {"name": "web", "address": "10.0.0.2:80"}
      """
    Then the response status is 201
    When my next request has the header "X-Custodes-Token: not-a-token-anyone-holds"
    And I send "GET" "/services" to a follower
    Then the response status is 401
    When I send "POST" "/admin/raft/remove-peer" to a follower with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 401
    When I send "POST" "/admin/raft/remove-peer" to a follower as "reader" with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 403
    When I send "POST" "/admin/raft/remove-peer" to a follower as "root" with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 404
    # Another agent, or an operator holding the cluster key, proves the key
    # instead of presenting a management token.
    When I send "POST" "/admin/raft/remove-peer" to a follower signed with the cluster key with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 404
    When I send "POST" "/admin/raft/remove-peer" to a follower signed with another key with body:
      """
      {"id": "nobody"}
      """
    Then the response status is 401
    When I send "POST" "/admin/leave" to a follower as "reader"
    Then the response status is 403
    When I send "GET" "/acl/users" to a follower
    Then the response status is 401
    When I send "GET" "/acl/users" to a follower as "root"
    Then the response has 2 "users"
    When I send "DELETE" "/acl/users/management" to a follower as "root"
    Then the response status is 409

  Scenario: Without a cluster key there are no ACLs: the agents' own protocol would be open
    Given I note the leader's last Raft index as "before"
    When I send "POST" "/acl/bootstrap" to the leader
    Then the response status is 403
    And the error mentions "cluster key"
    And the leader's last Raft index is still "before"
