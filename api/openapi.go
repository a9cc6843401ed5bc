package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// The OpenAPI 3.0 description of the HTTP API, served at GET
// /openapi.json. It is built from routeDocs below and routePermissions
// (the permission each route needs); TestOpenAPICoversEveryRoute keeps
// routeDocs and the router in step. The agents' own protocol
// (/internal/*) and the profiler (/debug/pprof/*, off by default) are
// left out: neither is an API for clients.

// routeDoc documents one route, keyed like routePermissions.
type routeDoc struct {
	key     string // "METHOD /echo/:pattern"
	summary string
	tag     string
	query   []string // query parameters, "name" or "name!" when required
	body    string   // request body's content type, if any
	resp    []resp   // main responses
}

type resp struct {
	code int
	desc string
}

var (
	ok200      = resp{200, "OK (JSON)"}
	created201 = resp{201, "created"}
	bad400     = resp{400, "the request is malformed or invalid"}
	unauth401  = resp{401, "no token, or one no user holds"}
	forbid403  = resp{403, "the token lacks the role"}
	nf404      = resp{404, "no such object"}
	conf409    = resp{409, "conflict (a lock, a version or an existing object)"}
	unavail503 = resp{503, "no leader, or the file system is not enabled"}
)

const (
	ctJSON   = "application/json"
	ctOctets = "application/octet-stream"
)

var routeDocs = []routeDoc{
	{key: "GET /openapi.json", summary: "This document", tag: "meta", resp: []resp{ok200}},
	{key: "GET /alive", summary: "Liveness probe: the process answers", tag: "health", resp: []resp{ok200}},
	{key: "GET /metrics", summary: "Prometheus metrics of this agent (text exposition format)", tag: "admin", resp: []resp{{200, "metrics in Prometheus' text format"}, unauth401}},
	{key: "GET /ui", summary: "The dashboard: redirects to /ui/", tag: "ui", resp: []resp{{301, "redirect to /ui/"}}},
	{key: "GET /ui/*", summary: "The dashboard: /ui/ is the page, /ui/NAME its scripts, styles and icon (static, embedded; the page asks the API with the user's token)", tag: "ui", resp: []resp{{200, "the page or one of its files"}, nf404}},
	{key: "GET /ready", summary: "Readiness probe: the agent knows a leader and has caught up", tag: "health", resp: []resp{ok200, unavail503}},

	{key: "POST /register", summary: "Register (or re-register) a service instance", tag: "catalog", body: ctJSON, resp: []resp{{200, "updated an existing instance"}, {201, "created a new instance"}, bad400, unauth401, forbid403, unavail503}},
	{key: "GET /service/:name", summary: "Instances of one service (a blocking query with ?index=&wait=)", tag: "catalog", query: []string{"index", "wait", "version", "all"}, resp: []resp{ok200, bad400, unauth401, forbid403}},
	{key: "GET /services", summary: "Every service name and its instance count", tag: "catalog", query: []string{"index", "wait"}, resp: []resp{ok200, unauth401, forbid403}},
	{key: "GET /instance/:id", summary: "One instance", tag: "catalog", resp: []resp{ok200, unauth401, forbid403, nf404}},
	{key: "PUT /instance/:id", summary: "Update an instance", tag: "catalog", body: ctJSON, resp: []resp{ok200, bad400, unauth401, forbid403, nf404}},
	{key: "DELETE /instance/:id", summary: "Deregister an instance", tag: "catalog", resp: []resp{ok200, unauth401, forbid403, nf404}},
	{key: "PUT /instance/:id/heartbeat", summary: "Renew an instance's TTL check", tag: "catalog", resp: []resp{ok200, unauth401, forbid403, nf404, conf409}},
	{key: "GET /events", summary: "A stream of catalog changes (Server-Sent Events)", tag: "catalog", resp: []resp{{200, "an event stream (text/event-stream)"}, unauth401, forbid403, {429, "too many watchers"}}},

	{key: "GET /admin/raft", summary: "This agent's Raft state", tag: "admin", resp: []resp{ok200, unauth401}},
	{key: "GET /admin/members", summary: "The gossip members", tag: "admin", resp: []resp{ok200, unauth401}},
	{key: "GET /admin/health", summary: "The cluster's health as the leader sees it", tag: "admin", resp: []resp{ok200, unauth401, unavail503}},
	{key: "POST /admin/raft/remove-peer", summary: "Remove a peer from the Raft configuration", tag: "admin", body: ctJSON, resp: []resp{ok200, bad400, unauth401, forbid403}},
	{key: "POST /admin/leave", summary: "Make this agent leave the cluster", tag: "admin", resp: []resp{ok200, unauth401, forbid403}},
	{key: "GET /admin/snapshot", summary: "Save the whole replicated state (a gzip archive, at a linearizable read)", tag: "admin", resp: []resp{{200, "the archive (application/octet-stream); X-Custodes-Index is its index"}, unauth401, forbid403, unavail503}},
	{key: "PUT /admin/snapshot", summary: "Restore the whole replicated state from an archive, through the leader", tag: "admin", body: ctOctets, resp: []resp{ok200, bad400, unauth401, forbid403, {413, "the archive is over the limit"}, unavail503}},

	{key: "POST /acl/bootstrap", summary: "Create the first management token (once)", tag: "acl", resp: []resp{ok200, conf409}},
	{key: "GET /acl/whoami", summary: "The token's user", tag: "acl", resp: []resp{ok200, unauth401}},
	{key: "GET /acl/users", summary: "Every user", tag: "acl", query: []string{"stale"}, resp: []resp{ok200, unauth401, forbid403}},
	{key: "POST /acl/users", summary: "Create a user and its token", tag: "acl", body: ctJSON, resp: []resp{created201, bad400, unauth401, forbid403, conf409}},
	{key: "DELETE /acl/users/:name", summary: "Delete a user", tag: "acl", resp: []resp{ok200, unauth401, forbid403, nf404}},
	{key: "POST /acl/users/:name/token", summary: "Rotate a user's token", tag: "acl", resp: []resp{ok200, unauth401, forbid403, nf404}},

	{key: "POST /write", summary: "Write a new file (the body is its content)", tag: "dfs", query: []string{"name!"}, body: ctOctets, resp: []resp{created201, bad400, unauth401, conf409, {413, "the file is too large"}, unavail503}},
	{key: "GET /read", summary: "Read a file (Range supported)", tag: "dfs", query: []string{"name!", "owner"}, resp: []resp{{200, "the file's content (application/octet-stream)"}, {206, "part of the file"}, unauth401, forbid403, nf404, {416, "range not satisfiable"}}},
	{key: "GET /stat", summary: "A file's metadata", tag: "dfs", query: []string{"name!", "owner"}, resp: []resp{ok200, unauth401, forbid403, nf404}},
	{key: "POST /lock", summary: "Take a file's write lock", tag: "dfs", body: ctJSON, resp: []resp{ok200, bad400, unauth401, forbid403, nf404, conf409}},
	{key: "POST /unlock", summary: "Release a file's write lock", tag: "dfs", body: ctJSON, resp: []resp{ok200, bad400, unauth401, conf409}},
	{key: "POST /update", summary: "Replace a locked file's content (the body; X-Custodes-Lock-Token header)", tag: "dfs", query: []string{"name!", "owner"}, body: ctOctets, resp: []resp{ok200, bad400, unauth401, forbid403, nf404, conf409}},
	{key: "POST /share", summary: "Share a file with another user", tag: "dfs", body: ctJSON, resp: []resp{ok200, bad400, unauth401, nf404}},
	{key: "GET /all", summary: "The files the token's user owns or may read", tag: "dfs", resp: []resp{ok200, unauth401}},
	{key: "DELETE /file", summary: "Delete a file", tag: "dfs", query: []string{"name!"}, resp: []resp{ok200, unauth401, nf404, conf409}},
	{key: "GET /access", summary: "Who may access a file", tag: "dfs", query: []string{"name!", "owner"}, resp: []resp{ok200, unauth401, forbid403, nf404}},
	{key: "GET /admin/dfs", summary: "The file servers and the replication sweep (linearizable unless ?stale)", tag: "admin", query: []string{"stale"}, resp: []resp{ok200, unauth401, unavail503}},
	{key: "POST /admin/dfs/drain", summary: "Drain a file server (its copies made elsewhere)", tag: "admin", body: ctJSON, resp: []resp{ok200, bad400, unauth401, forbid403}},
	{key: "POST /dfs/register", summary: "A file server announces itself", tag: "dfs", body: ctJSON, resp: []resp{ok200, bad400, unauth401, forbid403}},
}

// permissionNames name each Permission in the document.
var permissionNames = map[Permission]string{
	PermOpen:       "open",
	PermRead:       "read",
	PermWrite:      "write",
	PermAnyToken:   "any-token",
	PermToken:      "token",
	PermManagement: "management",
	PermAdmin:      "admin",
	PermDebug:      "debug",
	PermInternal:   "internal",
}

var permissionText = map[Permission]string{
	PermOpen:       "open to anyone",
	PermRead:       "services:read under acl-default deny; open under allow",
	PermWrite:      "services:write under acl-default deny; open under allow",
	PermAnyToken:   "any valid token under deny; open under allow",
	PermToken:      "a valid token",
	PermManagement: "a management token, or the cluster key's signature",
	PermAdmin:      "a management token or the cluster key's signature (before ACL bootstrap under allow: the key's signature if the agent has a key, else open)",
}

// undocumented reports whether a route is left out of the document.
func undocumented(path string) bool {
	return strings.HasPrefix(path, internalPrefix) || strings.HasPrefix(path, "/debug/pprof/")
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openAPIPath turns echo's /instance/:id into OpenAPI's /instance/{id}.
func openAPIPath(p string) string { return echoParam.ReplaceAllString(p, "{$1}") }

// buildOpenAPI assembles the document.
func buildOpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, d := range routeDocs {
		method, echoPath, _ := strings.Cut(d.key, " ")
		perm, ok := routePermissions[d.key]
		if !ok {
			perm = PermManagement
		}
		var params []any
		for _, m := range echoParam.FindAllStringSubmatch(echoPath, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range d.query {
			name, req := strings.CutSuffix(q, "!")
			params = append(params, map[string]any{"name": name, "in": "query", "required": req, "schema": map[string]any{"type": "string"}})
		}
		responses := map[string]any{}
		for _, r := range d.resp {
			responses[strconv.Itoa(r.code)] = map[string]any{"description": r.desc}
		}
		op := map[string]any{
			"summary":               d.summary,
			"operationId":           operationID(method, echoPath),
			"tags":                  []string{d.tag},
			"description":           "Permission: " + permissionNames[perm] + " (" + permissionText[perm] + ").",
			"x-custodes-permission": permissionNames[perm],
			"responses":             responses,
		}
		if params != nil {
			op["parameters"] = params
		}
		if d.body != "" {
			schema := map[string]any{"type": "object"}
			if d.body == ctOctets {
				schema = map[string]any{"type": "string", "format": "binary"}
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{d.body: map[string]any{"schema": schema}}}
		}
		p := openAPIPath(echoPath)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "custodes",
			"version":     "1",
			"description": "A Raft-replicated service registry with a distributed file system. Tokens go in Authorization: Bearer TOKEN (or X-Custodes-Token). The agents' own protocol (/internal/*) and the profiler (/debug/pprof/*) are not described.",
		},
		"paths": paths,
	}
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' || r == '.' || r == ':' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// openAPIJSON is the document, marshalled once.
var openAPIJSON = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(buildOpenAPI(), "", "  ")
	if err != nil {
		panic(err) // a map of strings and slices always marshals
	}
	return b
})

// openAPI handles GET /openapi.json.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIJSON())
}

// documentedRoutes is the set of "METHOD /pattern" routeDocs describes.
func documentedRoutes() []string {
	out := make([]string, 0, len(routeDocs))
	for _, d := range routeDocs {
		out = append(out, d.key)
	}
	sort.Strings(out)
	return out
}
