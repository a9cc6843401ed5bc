Feature: The dashboard
  Every agent serves a live dashboard at /ui/: one page of HTML, CSS and
  JavaScript embedded in the binary, open to anyone because it holds no
  data. Its scripts ask the agent's API for the Raft group, the gossip
  members, the services and their health, the file-server ring and the
  recent events, follow /events and poll the admin routes, with the token
  the user types when the API asks for one. A strict Content-Security-Policy
  lets the page run only its own scripts and talk only to its own agent.

  Scenario: Any agent serves the page and every file it needs, with the security headers
    When I send "GET" "/ui/" to a follower
    Then the response status is 200
    And the response header "Content-Type" is "text/html; charset=utf-8"
    And the response header "X-Content-Type-Options" is "nosniff"
    And the Content-Security-Policy allows only the page's own scripts, styles and agent
    And the page is the dashboard
    And every file the page references is served with its type and the security headers

  Scenario: /ui redirects to the page, and a file the page does not have is 404
    When I send "GET" "/ui" to the leader
    Then the response status is 301
    And the response header "Location" is "/ui/"
    When I send "GET" "/ui/nothing.js" to the leader
    Then the response status is 404
    And the response header "X-Content-Type-Options" is "nosniff"

  @fresh
  Scenario: Under ACLs the page is open but the data it shows needs a token
    Given a fresh cluster of 3 agents with ACL default "deny"
    When I send "GET" "/ui/" to a follower
    Then the response status is 200
    And the page is the dashboard
    And every file the page references is served with its type and the security headers
    When I send "GET" "/admin/raft" to a follower
    Then the response status is 401
    When I send "POST" "/acl/bootstrap" to the leader
    Then the response status is 200
    And I remember the response "token" as "root"
    And ACLs are bootstrapped on every agent
    When I send "GET" "/admin/raft" to a follower as "root"
    Then the response status is 200
    When I send "GET" "/services" to a follower
    Then the response status is 401

  # Skipped, saying why, where no Chromium is installed (make test-deps
  # installs it as root).
  @fresh
  Scenario: In a browser the page shows the cluster, live
    Given a fresh file system of 3 agents and 3 file servers with users "alice", "bob" and "carol"
    And a browser shows the dashboard of a follower
    Then the dashboard shows 3 agents and names the leader
    And the dashboard shows 3 file servers on the ring
    And the dashboard's event stream is live
    When I register "web" at "10.0.0.1:80" through a follower
    Then the response status is 201
    And the dashboard shows the service "web" within 2 seconds
    When the file server "fs2" is killed
    Then the dashboard shows the file server "fs2" dead within 30 seconds
    And the browser console has no errors

  # A fresh cluster: on the shared one, services other scenarios emptied
  # answer 404, which Chromium logs in the console.
  @fresh
  Scenario: Behind a proxy that serves an agent under a path prefix, the page calls the API under it
    Given a fresh cluster of 3 agents
    And a browser shows the dashboard of the leader through a proxy that serves it under "/custodes"
    Then the dashboard shows 3 agents and names the leader
    And the dashboard's event stream is live
    When I register "behind-proxy" at "10.0.0.9:80"
    Then the dashboard shows the service "behind-proxy" within 2 seconds
    And the proxy got no request outside its prefix
    And the browser console has no errors

  @fresh
  Scenario: In a browser under ACLs the page asks for a token and shows the cluster once it is typed
    Given a fresh cluster of 3 agents with ACL default "deny" and an initial management token
    And ACLs are bootstrapped on every agent
    And a browser shows the dashboard of a follower
    Then the dashboard asks for a token
    When I type the token "${initial}" into the dashboard
    Then the dashboard shows 3 agents and names the leader
    And the dashboard's event stream is live
    When I send "POST" "/register" to the leader as "initial" with body:
      """
      {"name": "db", "address": "10.0.0.2:5432"}
      """
    Then the response status is 201
    And the dashboard shows the service "db" within 2 seconds
    And the browser console has no errors but the refused requests
