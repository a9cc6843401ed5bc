package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/keyring"
	"github.com/labstack/echo/v4"
)

// Permission is what a route asks of a request.
type Permission int

const (
	// PermOpen: anyone, token or not (probes and the ACL bootstrap). A
	// token sent here is not even looked at.
	PermOpen Permission = iota
	// PermRead: lookups, /services, /instance, /events (services:read,
	// which services:write and management include).
	PermRead
	// PermWrite: register, update, deregister, heartbeat (services:write).
	PermWrite
	// PermAnyToken: the admin views; under deny any valid token will do.
	PermAnyToken
	// PermToken: a valid token always (/acl/whoami has nothing to show
	// without one).
	PermToken
	// PermManagement: user management. A management token always, or the
	// cluster key's signature (agent-to-agent calls).
	PermManagement
	// PermAdmin: the routes that change membership. Once ACLs are
	// bootstrapped (or under deny) as PermManagement; before, under allow,
	// what they were before ACLs: the cluster key's signature when the
	// agent has a key, open when it has none.
	PermAdmin
	// PermDebug: the profiler. As PermAdmin, but open before bootstrap
	// under allow even with a key, as it was before ACLs.
	PermDebug
	// PermInternal: the agents' own protocol, whose calls cluster checks
	// against the cluster key itself.
	PermInternal
)

// routePermissions is the one table of what each route needs, keyed by
// method and echo's route pattern. A route missing from it needs
// management (TestEveryRouteHasAPermission keeps it complete).
var routePermissions = map[string]Permission{
	"GET /alive":                   PermOpen,
	"GET /ready":                   PermOpen,
	"GET /openapi.json":            PermOpen,
	"GET /ui":                      PermOpen,
	"GET /ui/*":                    PermOpen,
	"POST /acl/bootstrap":          PermOpen,
	"POST /register":               PermWrite,
	"GET /service/:name":           PermRead,
	"GET /services":                PermRead,
	"GET /instance/:id":            PermRead,
	"PUT /instance/:id":            PermWrite,
	"DELETE /instance/:id":         PermWrite,
	"PUT /instance/:id/heartbeat":  PermWrite,
	"GET /events":                  PermRead,
	"GET /admin/raft":              PermAnyToken,
	"GET /admin/members":           PermAnyToken,
	"GET /admin/health":            PermAnyToken,
	"GET /metrics":                 PermAnyToken,
	"POST /admin/raft/remove-peer": PermAdmin,
	"POST /admin/leave":            PermAdmin,
	"GET /admin/snapshot":          PermAdmin,
	"PUT /admin/snapshot":          PermAdmin,
	"GET /acl/whoami":              PermToken,
	"GET /acl/users":               PermManagement,
	"POST /acl/users":              PermManagement,
	"DELETE /acl/users/:name":      PermManagement,
	"POST /acl/users/:name/token":  PermManagement,
	"POST /write":                  PermToken,
	"GET /read":                    PermToken,
	"GET /stat":                    PermToken,
	"POST /lock":                   PermToken,
	"POST /unlock":                 PermToken,
	"POST /update":                 PermToken,
	"POST /share":                  PermToken,
	"GET /all":                     PermToken,
	"DELETE /file":                 PermToken,
	"GET /access":                  PermToken,
	"GET /admin/dfs":               PermAnyToken,
	"POST /admin/dfs/drain":        PermAdmin,
	"POST /dfs/register":           PermManagement,
	"GET /debug/pprof/*":           PermDebug,
	"GET /debug/pprof/cmdline":     PermDebug,
	"GET /debug/pprof/profile":     PermDebug,
	"GET /debug/pprof/symbol":      PermDebug,
	"GET /debug/pprof/trace":       PermDebug,
}

// Token headers: a bearer token, or the header of custodes' own.
const HeaderToken = "X-Custodes-Token"

// Sentinels of the authorization layer.
var (
	// ErrUnauthorized: no token, or one no user holds (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: a valid token without the permission (403).
	ErrForbidden = errors.New("forbidden")
)

// request is what one authorization decision depends on: everything the
// middleware gathered, so the rules themselves are a pure function.
type request struct {
	perm         Permission
	deny         bool
	bootstrapped bool
	presented    bool      // a token was sent
	user         *acl.User // the token's user; nil if none or unknown
	keyed        bool      // the agent has a cluster key
	signed       bool      // the request carries X-Custodes-Auth
	sigErr       error     // the signature's check, when signed and keyed
}

// decide applies the ACL rules to one request: nil lets it through,
// otherwise an error wrapping ErrUnauthorized (401) or ErrForbidden (403).
func decide(r request) error {
	switch r.perm {
	case PermOpen, PermInternal:
		return nil
	case PermManagement, PermAdmin, PermDebug:
		if r.keyed && r.signed {
			if r.sigErr != nil {
				return fmt.Errorf("%w: %v", ErrUnauthorized, r.sigErr)
			}
			return nil // another agent, or an operator holding the key
		}
	}
	if r.presented && r.user == nil {
		return fmt.Errorf("%w: the token is not valid (unknown, revoked or rotated)", ErrUnauthorized)
	}
	if !r.presented {
		switch {
		case r.perm == PermToken, r.perm == PermManagement:
			return fmt.Errorf("%w: this route needs a token (Authorization: Bearer TOKEN)", ErrUnauthorized)
		case (r.perm == PermAdmin || r.perm == PermDebug) && !r.deny && !r.bootstrapped:
			if r.perm == PermAdmin && r.keyed {
				return fmt.Errorf("%w: %v: agent-to-agent and admin calls need the cluster key", ErrUnauthorized, keyring.ErrMissing)
			}
			return nil // as before ACLs: nobody could hold a token yet
		case r.perm == PermAdmin || r.perm == PermDebug:
			return fmt.Errorf("%w: this route needs a management token", ErrUnauthorized)
		case r.deny:
			return fmt.Errorf("%w: ACLs deny requests without a token (Authorization: Bearer TOKEN)", ErrUnauthorized)
		}
		return nil // allow: no token, no ACL
	}
	need := ""
	switch r.perm {
	case PermRead:
		if r.deny {
			need = acl.RoleServicesRead
		}
	case PermWrite:
		if r.deny {
			need = acl.RoleServicesWrite
		}
	case PermManagement, PermAdmin, PermDebug:
		need = acl.RoleManagement
	}
	if need == "" || allows(r.user, need) {
		return nil
	}
	return fmt.Errorf("%w: user %q lacks the %s role", ErrForbidden, r.user.Name, need)
}

// allows reports whether u's roles include role: management includes
// everything, services:write includes services:read.
func allows(u *acl.User, role string) bool {
	switch {
	case u.Has(acl.RoleManagement), u.Has(role):
		return true
	case role == acl.RoleServicesRead:
		return u.Has(acl.RoleServicesWrite)
	}
	return false
}

// bearer returns the request's token and whether one was sent. A
// malformed Authorization header counts as a token no user holds.
func bearer(r *http.Request) (string, bool) {
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", true
		}
		return strings.TrimSpace(tok), true
	}
	if tok := r.Header.Get(HeaderToken); tok != "" {
		return strings.TrimSpace(tok), true
	}
	return "", false
}

// HashToken is what the state holds of a token (fsm.HashToken).
func HashToken(token string) string { return fsm.HashToken(token) }

// userKey is the echo context key of the request's resolved user.
const userKey = "custodes.acl.user"

// requestUser returns the user whose token the request carried, if any.
func requestUser(c echo.Context) (acl.User, bool) {
	u, ok := c.Get(userKey).(*acl.User)
	if !ok || u == nil {
		return acl.User{}, false
	}
	return *u, true
}

// authz is the authorization layer: the route table, the mode and the
// cluster key verifier for admin routes.
type authz struct {
	deny     bool
	verifier *keyring.Verifier // nil without a key
	routes   func() map[string]bool
}

func newAuthz(cfg ACLConfig, keys [][]byte, routes func() map[string]bool) *authz {
	return &authz{
		deny: cfg.Default == ACLDeny,
		verifier: keyring.NewVerifier(keys, keyring.VerifierConfig{MaxBody: MaxBodyBytes,
			// An archive to restore is too large to hash first; it is
			// checked whole before anything changes.
			Streamed: func(r *http.Request) bool {
				return r.Method == http.MethodPut && r.URL.Path == "/admin/snapshot"
			}}),
		routes: routes,
	}
}

// authorize is the middleware: it resolves the token against the local
// replica (one map lookup by hash, then a constant-time comparison of the
// hashes), puts the user in the context, and applies decide with the
// route's permission.
func (s *Server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Method + " " + c.Path()
		perm, ok := routePermissions[key]
		switch {
		case strings.HasPrefix(c.Path(), internalPrefix):
			perm = PermInternal
		case !ok && !s.authz.routes()[key]:
			return next(c) // no such route: the router's own 404 or 405
		case !ok:
			perm = PermManagement // a route forgotten in the table stays closed
		}
		if perm == PermOpen || perm == PermInternal {
			return next(c)
		}
		fsm := s.cluster.FSM()
		r := request{
			perm: perm, deny: s.authz.deny,
			keyed: s.authz.verifier != nil, signed: c.Request().Header.Get(keyring.Header) != "",
		}
		if perm == PermAdmin || perm == PermDebug {
			r.bootstrapped = fsm.ACLBootstrapped() // only these depend on it
		}
		tok, presented := bearer(c.Request())
		r.presented = presented
		if presented && tok != "" {
			h := HashToken(tok)
			if u, ok := fsm.UserByTokenHash(h); ok && subtle.ConstantTimeCompare([]byte(u.TokenHash), []byte(h)) == 1 {
				r.user = &u
			}
		}
		if r.keyed && r.signed && (perm == PermManagement || perm == PermAdmin || perm == PermDebug) {
			r.sigErr = s.authz.verifier.Verify(c.Request())
		}
		if err := decide(r); err != nil {
			if errors.Is(err, ErrUnauthorized) {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="custodes"`)
			}
			return aclHTTPError(err)
		}
		if r.user != nil {
			c.Set(userKey, r.user)
		}
		return next(c)
	}
}

// registeredRoutes returns the set of "METHOD /pattern" the router
// serves, computed once (routes are all added before serving).
func registeredRoutes(e *echo.Echo) func() map[string]bool {
	return sync.OnceValue(func() map[string]bool {
		out := map[string]bool{}
		for _, r := range e.Routes() {
			out[r.Method+" "+r.Path] = true
		}
		return out
	})
}

// tokenStillValid reports whether the token a long-lived request (an
// event stream) was authorized with still belongs to its user: a stream
// must not outlive its user's deletion or token rotation. The stream
// wakes on every applied entry, so it checks again right after either.
// A request authorized without a token stays valid.
func (s *Server) tokenStillValid(c echo.Context) bool {
	u, ok := requestUser(c)
	if !ok {
		return true
	}
	cur, ok := s.cluster.FSM().UserByTokenHash(u.TokenHash)
	return ok && cur.Name == u.Name
}
