package fsm

import (
	"errors"
	"strings"
	"testing"

	"github.com/custodes/custodes/fsm/acl"
)

func h64(c string) string { return strings.Repeat(c, 64) }

// The ACL commands go through the same dispatch as the catalog's: applied
// at their index, read back through the FSM's locked reads, and refused
// by Precheck (no Raft entry) when they would certainly fail.
func TestACLCommands(t *testing.T) {
	h := newHarness(t)
	if h.fsm.ACLBootstrapped() {
		t.Fatal("new FSM is bootstrapped")
	}
	res, ok := h.apply(ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: h64("a")}).(*acl.Result)
	if !ok || res.Index != 1 || res.User.Name != acl.BootstrapUser {
		t.Fatalf("bootstrap: %#v", res)
	}
	if !h.fsm.ACLBootstrapped() {
		t.Fatal("not bootstrapped")
	}
	if err := h.fsm.Precheck(ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: h64("b")}); !errors.Is(err, ErrAlreadyBootstrapped) {
		t.Fatalf("precheck of a second bootstrap: %v", err)
	}
	if err, _ := h.apply(ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: h64("b")}).(error); !errors.Is(err, ErrAlreadyBootstrapped) {
		t.Fatalf("second bootstrap applied: %v", err)
	}

	h.apply(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: "bob", Roles: []string{acl.RoleServicesRead}, TokenHash: h64("1")})
	if err := h.fsm.Precheck(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: "bob", Roles: []string{acl.RoleServicesRead}, TokenHash: h64("2")}); !errors.Is(err, ErrUserExists) {
		t.Fatalf("precheck of a taken name: %v", err)
	}
	u, ok := h.fsm.UserByTokenHash(h64("1"))
	if !ok || u.Name != "bob" {
		t.Fatalf("by hash: %+v %v", u, ok)
	}
	u.Roles[0] = "changed" // a reader's copy: the stored user stays as it was
	if again, _ := h.fsm.User("bob"); again.Roles[0] != acl.RoleServicesRead {
		t.Fatal("a reader changed the stored user")
	}

	h.apply(ACLSetTokenRequestType, &acl.SetTokenRequest{Name: "bob", TokenHash: h64("2")})
	if _, ok := h.fsm.UserByTokenHash(h64("1")); ok {
		t.Fatal("old token resolves after set-token")
	}
	if err := h.fsm.Precheck(ACLDeleteUserRequestType, &acl.DeleteUserRequest{Name: "nobody"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("precheck of an unknown user: %v", err)
	}
	h.apply(ACLDeleteUserRequestType, &acl.DeleteUserRequest{Name: "bob"})
	if _, ok := h.fsm.UserByTokenHash(h64("2")); ok {
		t.Fatal("deleted user's token resolves")
	}
	if names := len(h.fsm.Users()); names != 1 {
		t.Fatalf("%d users", names)
	}
	// ACL changes are not events: nothing about users reaches /events.
	if evs, _, _ := h.fsm.Events(0); len(evs) != 0 {
		t.Fatalf("events: %+v", evs)
	}
}

func TestACLValidate(t *testing.T) {
	f := New(DefaultConfig())
	err := f.Validate(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: "Bob", Roles: []string{"management"}, TokenHash: h64("a")})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "name") {
		t.Fatalf("got %v", err)
	}
	if _, _, err := DecodeCommand([]byte{byte(ACLSetTokenRequestType), '{', '"', 'x', '"', ':', '1', '}'}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown field: %v", err)
	}
}

// The ACL errors cross the agents' protocol by name.
func TestACLErrorNames(t *testing.T) {
	for _, err := range []error{ErrAlreadyBootstrapped, ErrUserExists, ErrUserNotFound, ErrTokenInUse, ErrLastManagement} {
		name := ErrorName(err)
		if name == "" || ErrorByName(name) != err {
			t.Errorf("%v: name %q", err, name)
		}
	}
}

// Users survive a snapshot, with their hashes only; a snapshot without
// the section restores as not bootstrapped.
func TestACLSnapshot(t *testing.T) {
	h := newHarness(t)
	h.apply(ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: h64("a")})
	h.apply(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: "bob", Roles: []string{acl.RoleServicesWrite}, TokenHash: h64("1")})
	data := persist(t, h.fsm)
	if !strings.Contains(string(data), `"acl":{"bootstrapped":true`) || strings.Contains(string(persist(t, New(DefaultConfig()))), `"acl"`) {
		t.Fatalf("the acl section is written when used, and only then: %s", data)
	}
	got := New(DefaultConfig())
	if err := restore(got, data); err != nil {
		t.Fatal(err)
	}
	if !got.ACLBootstrapped() || len(got.Users()) != 2 {
		t.Fatalf("restored: bootstrapped %v, users %+v", got.ACLBootstrapped(), got.Users())
	}
	if u, ok := got.UserByTokenHash(h64("1")); !ok || u.Name != "bob" {
		t.Fatal("index by hash not restored")
	}
	if err := restore(got, []byte(`{"version":2,"applied":9,"tables":{"catalog":{}}}`)); err != nil {
		t.Fatal(err)
	}
	if got.ACLBootstrapped() || len(got.Users()) != 0 {
		t.Fatal("a snapshot without the acl section kept users")
	}
}
