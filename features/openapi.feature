Feature: The API describes itself
  Every agent serves an OpenAPI 3.0 document of its HTTP API at
  /openapi.json, open to anyone: each route, the permission it needs, its
  request body's content type and its main answers.

  Scenario: Any agent serves the OpenAPI document
    When I send "GET" "/openapi.json" to a follower
    Then the response status is 200
    And the response contains:
      """
      {"openapi": "3.0.3", "info": {"title": "custodes"},
       "paths": {
         "/register": {"post": {"x-custodes-permission": "write",
                                "requestBody": {"content": {"application/json": {}}},
                                "responses": {"201": {}}}},
         "/instance/{id}": {"get": {"x-custodes-permission": "read"}},
         "/write": {"post": {"requestBody": {"content": {"application/octet-stream": {}}}}},
         "/openapi.json": {"get": {"x-custodes-permission": "open"}}}}
      """
