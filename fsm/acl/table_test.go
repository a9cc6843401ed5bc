package acl

import (
	"errors"
	"strings"
	"testing"
)

func hash(c string) string { return strings.Repeat(c, 64) }

func bootstrapped(t *testing.T) *Table {
	t.Helper()
	tb := New()
	if _, err := tb.Bootstrap(1, &BootstrapRequest{TokenHash: hash("0")}); err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestBootstrapOnce(t *testing.T) {
	tb := New()
	if tb.Bootstrapped() {
		t.Fatal("new table is bootstrapped")
	}
	res, err := tb.Bootstrap(5, &BootstrapRequest{TokenHash: hash("a")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Index != 5 || res.User.Name != BootstrapUser || !res.User.Has(RoleManagement) || res.User.CreateIndex != 5 {
		t.Fatalf("result %+v", res)
	}
	if !tb.Bootstrapped() {
		t.Fatal("not bootstrapped")
	}
	u, ok := tb.ByTokenHash(hash("a"))
	if !ok || u.Name != BootstrapUser {
		t.Fatalf("by hash: %v %v", u, ok)
	}
	if _, err := tb.Bootstrap(6, &BootstrapRequest{TokenHash: hash("b")}); !errors.Is(err, ErrAlreadyBootstrapped) {
		t.Fatalf("second bootstrap: %v", err)
	}
	if _, ok := tb.ByTokenHash(hash("b")); ok {
		t.Fatal("refused bootstrap left its hash")
	}
}

func TestCreateUser(t *testing.T) {
	tb := bootstrapped(t)
	cases := []struct {
		name string
		req  CreateUserRequest
		want error
	}{
		{"new", CreateUserRequest{Name: "bob", Roles: []string{RoleServicesRead}, TokenHash: hash("1")}, nil},
		{"name taken", CreateUserRequest{Name: "bob", Roles: []string{RoleServicesRead}, TokenHash: hash("2")}, ErrUserExists},
		{"bootstrap user's name", CreateUserRequest{Name: BootstrapUser, Roles: []string{RoleServicesRead}, TokenHash: hash("3")}, ErrUserExists},
		{"hash taken", CreateUserRequest{Name: "eve", Roles: []string{RoleServicesRead}, TokenHash: hash("1")}, ErrTokenInUse},
	}
	for i, tc := range cases {
		res, err := tb.CreateUser(uint64(10+i), &tc.req)
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if err == nil && (res.User.Name != tc.req.Name || res.User.CreateIndex != uint64(10+i)) {
			t.Fatalf("%s: result %+v", tc.name, res)
		}
	}
	if tb.Len() != 2 {
		t.Fatalf("len %d", tb.Len())
	}
	u, _ := tb.ByTokenHash(hash("1"))
	if u.Name != "bob" {
		t.Fatalf("hash 1 is %s's", u.Name)
	}
}

func TestDeleteUser(t *testing.T) {
	tb := bootstrapped(t)
	_, _ = tb.CreateUser(2, &CreateUserRequest{Name: "bob", Roles: []string{RoleServicesWrite}, TokenHash: hash("1")})
	if _, err := tb.DeleteUser(3, &DeleteUserRequest{Name: "nobody"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := tb.DeleteUser(3, &DeleteUserRequest{Name: BootstrapUser}); !errors.Is(err, ErrLastManagement) {
		t.Fatalf("last management: %v", err)
	}
	if _, err := tb.DeleteUser(3, &DeleteUserRequest{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.ByTokenHash(hash("1")); ok {
		t.Fatal("deleted user's token still resolves")
	}
	// With a second manager, the first may go.
	_, _ = tb.CreateUser(4, &CreateUserRequest{Name: "root2", Roles: []string{RoleManagement}, TokenHash: hash("2")})
	if _, err := tb.DeleteUser(5, &DeleteUserRequest{Name: BootstrapUser}); err != nil {
		t.Fatal(err)
	}
	if !tb.Bootstrapped() {
		t.Fatal("deleting the bootstrap user unbootstrapped the table")
	}
}

func TestSetToken(t *testing.T) {
	tb := bootstrapped(t)
	_, _ = tb.CreateUser(2, &CreateUserRequest{Name: "bob", Roles: []string{RoleServicesRead}, TokenHash: hash("1")})
	snap := tb.Clone()
	res, err := tb.SetToken(3, &SetTokenRequest{Name: "bob", TokenHash: hash("2")})
	if err != nil {
		t.Fatal(err)
	}
	if res.User.ModifyIndex != 3 || res.User.CreateIndex != 2 {
		t.Fatalf("result %+v", res)
	}
	if _, ok := tb.ByTokenHash(hash("1")); ok {
		t.Fatal("old token still resolves")
	}
	if u, ok := tb.ByTokenHash(hash("2")); !ok || u.Name != "bob" {
		t.Fatal("new token does not resolve")
	}
	// The clone taken before is untouched (users are replaced, not changed).
	if u, ok := snap.ByTokenHash(hash("1")); !ok || u.TokenHash != hash("1") {
		t.Fatal("clone changed")
	}
	if _, err := tb.SetToken(4, &SetTokenRequest{Name: "bob", TokenHash: hash("0")}); !errors.Is(err, ErrTokenInUse) {
		t.Fatalf("another's hash: %v", err)
	}
	if _, err := tb.SetToken(4, &SetTokenRequest{Name: "bob", TokenHash: hash("2")}); err != nil {
		t.Fatalf("same hash again: %v", err)
	}
	if _, err := tb.SetToken(4, &SetTokenRequest{Name: "nobody", TokenHash: hash("3")}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestSectionRoundTrip(t *testing.T) {
	tb := bootstrapped(t)
	_, _ = tb.CreateUser(2, &CreateUserRequest{Name: "bob", Roles: []string{RoleServicesRead}, TokenHash: hash("1")})
	data, err := tb.EncodeSection()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSection(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.EncodeSection()
	if string(again) != string(data) || !back.Bootstrapped() {
		t.Fatalf("round trip:\n%s\n%s", data, again)
	}
	if u, ok := back.ByTokenHash(hash("1")); !ok || u.Name != "bob" {
		t.Fatal("index by hash not rebuilt")
	}
}

func TestFromSectionRefusesBrokenSections(t *testing.T) {
	u := func(name, h string) *User {
		return &User{Name: name, Roles: []string{RoleServicesRead}, TokenHash: h}
	}
	cases := map[string]Section{
		"null user":         {Bootstrapped: true, Users: []*User{nil}},
		"name twice":        {Bootstrapped: true, Users: []*User{u("a", hash("1")), u("a", hash("2"))}},
		"hash twice":        {Bootstrapped: true, Users: []*User{u("a", hash("1")), u("b", hash("1"))}},
		"bad hash":          {Bootstrapped: true, Users: []*User{u("a", "x")}},
		"unknown role":      {Bootstrapped: true, Users: []*User{{Name: "a", Roles: []string{"root"}, TokenHash: hash("1")}}},
		"users, no bootstr": {Users: []*User{u("a", hash("1"))}},
	}
	for name, s := range cases {
		if _, err := FromSection(s); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
	if tb, err := FromSection(Section{}); err != nil || tb.Bootstrapped() || tb.Len() != 0 {
		t.Fatalf("empty section: %v", err)
	}
}
