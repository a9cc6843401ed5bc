package acl

import (
	"errors"
	"slices"
)

// Roles a user may hold. The names are part of the log and of the API:
// never rename one.
const (
	// RoleManagement may do everything, user management included.
	RoleManagement = "management"
	// RoleServicesWrite may register, update, deregister and heartbeat
	// instances, and read everything services:read may.
	RoleServicesWrite = "services:write"
	// RoleServicesRead may look services and instances up and follow
	// /events.
	RoleServicesRead = "services:read"
)

// KnownRoles lists every role, in the order the API documents them.
var KnownRoles = []string{RoleManagement, RoleServicesWrite, RoleServicesRead}

// BootstrapUser is the name of the user bootstrap creates.
const BootstrapUser = "management"

// Business outcomes of the table's commands: the entry still applied on
// every replica; fsm lists them with their wire names.
var (
	// ErrAlreadyBootstrapped: the cluster's ACLs were bootstrapped before.
	ErrAlreadyBootstrapped = errors.New("acl already bootstrapped")
	// ErrUserExists: a user with that name exists.
	ErrUserExists = errors.New("user already exists")
	// ErrUserNotFound: no user has that name.
	ErrUserNotFound = errors.New("user not found")
	// ErrTokenInUse: another user's token has the same hash (never seen
	// with random tokens; refused so the index by hash stays one-to-one).
	ErrTokenInUse = errors.New("token already in use")
	// ErrLastManagement: the command would leave no user holding the
	// management role, and nobody could manage users again (bootstrap
	// happens once).
	ErrLastManagement = errors.New("the last user with the management role cannot be deleted")
)

// User is one user. Stored users are immutable: a change stores a new
// one, so a clone of the table may share them.
type User struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	// TokenHash is the lowercase hex SHA-256 of the user's token.
	TokenHash   string `json:"token_hash"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Clone returns a copy sharing nothing with u.
func (u *User) Clone() User {
	c := *u
	c.Roles = slices.Clone(u.Roles)
	return c
}

// Has reports whether the user holds role.
func (u *User) Has(role string) bool { return slices.Contains(u.Roles, role) }

// Result is a command's successful outcome: the user as it now is (as it
// was, for a deletion) and the index of the entry.
type Result struct {
	User  User   `json:"user"`
	Index uint64 `json:"index"`
}

// BootstrapRequest creates the user "management" with the management
// role and the given token hash, once per cluster.
type BootstrapRequest struct {
	TokenHash string `json:"token_hash"`
}

// CreateUserRequest creates a user.
type CreateUserRequest struct {
	Name      string   `json:"name"`
	Roles     []string `json:"roles"`
	TokenHash string   `json:"token_hash"`
}

// DeleteUserRequest deletes a user; their token stops working.
type DeleteUserRequest struct {
	Name string `json:"name"`
}

// SetTokenRequest replaces a user's token; the old one stops working.
type SetTokenRequest struct {
	Name      string `json:"name"`
	TokenHash string `json:"token_hash"`
}
