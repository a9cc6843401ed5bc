package acl

import (
	"strings"
	"testing"
)

var goodHash = strings.Repeat("ab", 32)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 64)
	cases := []struct {
		name string
		req  interface{ Validate() error }
		want string // "" for valid, else part of the message
	}{
		{"bootstrap ok", &BootstrapRequest{TokenHash: goodHash}, ""},
		{"bootstrap no hash", &BootstrapRequest{}, "token_hash must be"},
		{"bootstrap short hash", &BootstrapRequest{TokenHash: "abc"}, "token_hash must be"},
		{"bootstrap upper hash", &BootstrapRequest{TokenHash: strings.ToUpper(goodHash)}, "token_hash must be"},
		{"create ok", &CreateUserRequest{Name: "ci_bot-1", Roles: []string{RoleServicesRead, RoleServicesWrite}, TokenHash: goodHash}, ""},
		{"create 63 chars", &CreateUserRequest{Name: long[:63], Roles: []string{RoleManagement}, TokenHash: goodHash}, ""},
		{"create 64 chars", &CreateUserRequest{Name: long, Roles: []string{RoleManagement}, TokenHash: goodHash}, "is invalid"},
		{"create no name", &CreateUserRequest{Roles: []string{RoleManagement}, TokenHash: goodHash}, "name is required"},
		{"create upper name", &CreateUserRequest{Name: "Bob", Roles: []string{RoleManagement}, TokenHash: goodHash}, "is invalid"},
		{"create leading dash", &CreateUserRequest{Name: "-bob", Roles: []string{RoleManagement}, TokenHash: goodHash}, "is invalid"},
		{"create leading underscore", &CreateUserRequest{Name: "_bob", Roles: []string{RoleManagement}, TokenHash: goodHash}, "is invalid"},
		{"create slash", &CreateUserRequest{Name: "a/b", Roles: []string{RoleManagement}, TokenHash: goodHash}, "is invalid"},
		{"create no roles", &CreateUserRequest{Name: "bob", TokenHash: goodHash}, "at least one"},
		{"create unknown role", &CreateUserRequest{Name: "bob", Roles: []string{"files:write"}, TokenHash: goodHash}, "not a role"},
		{"create duplicate role", &CreateUserRequest{Name: "bob", Roles: []string{RoleServicesRead, RoleServicesRead}, TokenHash: goodHash}, "appears twice"},
		{"create bad hash", &CreateUserRequest{Name: "bob", Roles: []string{RoleServicesRead}, TokenHash: "secret-token"}, "token_hash must be"},
		{"delete ok", &DeleteUserRequest{Name: "bob"}, ""},
		{"delete bad name", &DeleteUserRequest{Name: "B B"}, "is invalid"},
		{"set token ok", &SetTokenRequest{Name: "bob", TokenHash: goodHash}, ""},
		{"set token no hash", &SetTokenRequest{Name: "bob"}, "token_hash must be"},
		{"set token no name", &SetTokenRequest{TokenHash: goodHash}, "name is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
			}
		})
	}
}

// A hash that is not one may be a token pasted in the wrong field: the
// message must not repeat it.
func TestValidateNeverEchoesTheHash(t *testing.T) {
	err := (&SetTokenRequest{Name: "bob", TokenHash: "my-secret-token"}).Validate()
	if err == nil || strings.Contains(err.Error(), "my-secret-token") {
		t.Fatalf("got %v", err)
	}
}
