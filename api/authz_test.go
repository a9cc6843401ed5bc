package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custodes/custodes/fsm/acl"
)

func user(roles ...string) *acl.User { return &acl.User{Name: "u", Roles: roles} }

// The rules, one case each: decide is the whole policy, the middleware
// only gathers its inputs.
func TestDecide(t *testing.T) {
	mgmt, writer, reader := user(acl.RoleManagement), user(acl.RoleServicesWrite), user(acl.RoleServicesRead)
	const ok, u401, f403 = 200, 401, 403
	cases := []struct {
		name string
		r    request
		want int
	}{
		// Open routes and the internal protocol ignore tokens entirely.
		{"open, deny, unknown token", request{perm: PermOpen, deny: true, presented: true}, ok},
		{"internal, deny, no token", request{perm: PermInternal, deny: true}, ok},

		// allow: no token does what it did before ACLs.
		{"allow, read, no token", request{perm: PermRead}, ok},
		{"allow, write, no token", request{perm: PermWrite, bootstrapped: true}, ok},
		{"allow, admin view, no token", request{perm: PermAnyToken, bootstrapped: true}, ok},
		{"allow, write, reader's token", request{perm: PermWrite, presented: true, user: reader}, ok},
		{"allow, unknown token", request{perm: PermRead, presented: true}, u401},

		// deny: no token 401, missing role 403.
		{"deny, read, no token", request{perm: PermRead, deny: true}, u401},
		{"deny, read, unknown token", request{perm: PermRead, deny: true, presented: true}, u401},
		{"deny, read, reader", request{perm: PermRead, deny: true, presented: true, user: reader}, ok},
		{"deny, read, writer (write includes read)", request{perm: PermRead, deny: true, presented: true, user: writer}, ok},
		{"deny, read, management", request{perm: PermRead, deny: true, presented: true, user: mgmt}, ok},
		{"deny, write, reader", request{perm: PermWrite, deny: true, presented: true, user: reader}, f403},
		{"deny, write, writer", request{perm: PermWrite, deny: true, presented: true, user: writer}, ok},
		{"deny, write, management", request{perm: PermWrite, deny: true, presented: true, user: mgmt}, ok},
		{"deny, admin view, no token", request{perm: PermAnyToken, deny: true}, u401},
		{"deny, admin view, reader", request{perm: PermAnyToken, deny: true, presented: true, user: reader}, ok},

		// whoami needs a valid token in both modes.
		{"allow, whoami, no token", request{perm: PermToken}, u401},
		{"allow, whoami, reader", request{perm: PermToken, presented: true, user: reader}, ok},

		// User management: a management token, or the key's signature.
		{"allow, users, no token", request{perm: PermManagement}, u401},
		{"allow, users, writer", request{perm: PermManagement, presented: true, user: writer}, f403},
		{"deny, users, management", request{perm: PermManagement, deny: true, presented: true, user: mgmt}, ok},
		{"users, signed", request{perm: PermManagement, keyed: true, signed: true}, ok},
		{"users, bad signature", request{perm: PermManagement, keyed: true, signed: true, sigErr: errors.New("bad signature")}, u401},
		{"users, signed without a key is no proof", request{perm: PermManagement, signed: true}, u401},

		// Admin routes before bootstrap under allow: as before ACLs.
		{"allow, admin, no key, not bootstrapped", request{perm: PermAdmin}, ok},
		{"allow, admin, keyed, unsigned, not bootstrapped", request{perm: PermAdmin, keyed: true}, u401},
		{"allow, admin, keyed, signed, not bootstrapped", request{perm: PermAdmin, keyed: true, signed: true}, ok},
		{"allow, debug, keyed, not bootstrapped", request{perm: PermDebug, keyed: true}, ok},
		// ...and once bootstrapped, whatever the mode: management or key.
		{"allow, admin, bootstrapped, no token", request{perm: PermAdmin, bootstrapped: true}, u401},
		{"allow, admin, bootstrapped, writer", request{perm: PermAdmin, bootstrapped: true, presented: true, user: writer}, f403},
		{"allow, admin, bootstrapped, management", request{perm: PermAdmin, bootstrapped: true, presented: true, user: mgmt}, ok},
		{"allow, admin, bootstrapped, keyed, signed", request{perm: PermAdmin, bootstrapped: true, keyed: true, signed: true}, ok},
		{"allow, debug, bootstrapped, no token", request{perm: PermDebug, bootstrapped: true}, u401},
		{"deny, admin, not bootstrapped, no token", request{perm: PermAdmin, deny: true}, u401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decide(tc.r)
			got := ok
			switch {
			case errors.Is(err, ErrUnauthorized):
				got = u401
			case errors.Is(err, ErrForbidden):
				got = f403
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	cases := []struct {
		name, auth, custom string
		tok                string
		presented          bool
	}{
		{"none", "", "", "", false},
		{"bearer", "Bearer abc", "", "abc", true},
		{"scheme case", "bearer abc", "", "abc", true},
		{"custom header", "", "xyz", "xyz", true},
		{"authorization wins", "Bearer abc", "xyz", "abc", true},
		{"basic is no token", "Basic dTpw", "", "", true},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if tc.custom != "" {
			r.Header.Set(HeaderToken, tc.custom)
		}
		tok, presented := bearer(r)
		if tok != tc.tok || presented != tc.presented {
			t.Errorf("%s: got %q %v", tc.name, tok, presented)
		}
	}
}

func TestTokens(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if len(a) != 43 || a == b || strings.ContainsAny(a, "+/=") {
		t.Fatalf("tokens %q %q", a, b)
	}
	h := HashToken(a)
	if err := (&acl.BootstrapRequest{TokenHash: h}).Validate(); err != nil || strings.Contains(h, a) {
		t.Fatalf("hash %q: %v", h, err)
	}
}

func TestACLConfig(t *testing.T) {
	c := ACLConfig{}
	if err := c.Validate(); err != nil || c.Default != ACLAllow {
		t.Fatalf("empty: %v %q", err, c.Default)
	}
	for _, bad := range []ACLConfig{
		{Default: "open"},
		{Default: ACLDeny, InitialManagementToken: "short"},
		{Default: ACLDeny, InitialManagementToken: "has a space in it!"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%v: valid", bad)
		}
	}
	secret := ACLConfig{Default: ACLDeny, InitialManagementToken: "0123456789abcdef-secret"}
	if err := secret.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret.String(), secret.GoString()} {
		if strings.Contains(s, "secret") {
			t.Fatalf("config prints its token: %s", s)
		}
	}
	if err := ValidateInitialToken("short-secret"); err == nil || strings.Contains(err.Error(), "short-secret") {
		t.Fatalf("message repeats the token: %v", err)
	}
}

// fakeCluster is enough of a Cluster to build the router.
type fakeCluster struct{ Cluster }

func (fakeCluster) InternalHandler() http.Handler { return http.NotFoundHandler() }

// Every route the router serves has its entry in the one table (a
// forgotten one would need management, which is safe but surprising).
func TestEveryRouteHasAPermission(t *testing.T) {
	s := New(fakeCluster{}, nil, nil, nil, Config{EnableDebug: true})
	for _, r := range s.e.Routes() {
		key := r.Method + " " + r.Path
		if strings.HasPrefix(r.Path, internalPrefix) {
			continue
		}
		if _, ok := routePermissions[key]; !ok {
			t.Errorf("%s has no entry in routePermissions", key)
		}
	}
	for key := range routePermissions {
		if !registeredRoutes(s.e)()[key] {
			t.Errorf("routePermissions lists %s, which is not a route", key)
		}
	}
}
