package acl

import (
	"maps"
	"slices"
	"strings"
)

// Table is the users table. byHash indexes token hash -> user name, so
// resolving a request's token costs one map lookup. A Table is not safe
// for concurrent use: fsm guards it with its lock.
type Table struct {
	bootstrapped bool
	users        map[string]*User
	byHash       map[string]string
}

// New returns an empty, not yet bootstrapped table.
func New() *Table {
	return &Table{users: map[string]*User{}, byHash: map[string]string{}}
}

// Clone copies the maps (not the immutable users): the cheap copy a
// snapshot takes.
func (t *Table) Clone() *Table {
	return &Table{bootstrapped: t.bootstrapped, users: maps.Clone(t.users), byHash: maps.Clone(t.byHash)}
}

func (t *Table) put(u *User) {
	if old, ok := t.users[u.Name]; ok {
		delete(t.byHash, old.TokenHash)
	}
	t.users[u.Name] = u
	t.byHash[u.TokenHash] = u.Name
}

// The Check methods answer whether a command would fail on the table as
// it is, without changing it: the command itself calls them first, and
// fsm's Precheck calls them so a refused write leaves no Raft entry.

// CheckBootstrap fails once the table was bootstrapped.
func (t *Table) CheckBootstrap(r *BootstrapRequest) error {
	if t.bootstrapped {
		return ErrAlreadyBootstrapped
	}
	if _, ok := t.users[BootstrapUser]; ok {
		return ErrUserExists
	}
	if _, ok := t.byHash[r.TokenHash]; ok {
		return ErrTokenInUse
	}
	return nil
}

// CheckCreateUser fails when the name or the token hash is taken.
func (t *Table) CheckCreateUser(r *CreateUserRequest) error {
	if _, ok := t.users[r.Name]; ok {
		return ErrUserExists
	}
	if _, ok := t.byHash[r.TokenHash]; ok {
		return ErrTokenInUse
	}
	return nil
}

// CheckDeleteUser fails for an unknown user, and for the last holder of
// the management role.
func (t *Table) CheckDeleteUser(r *DeleteUserRequest) error {
	u, ok := t.users[r.Name]
	if !ok {
		return ErrUserNotFound
	}
	if u.Has(RoleManagement) {
		for _, o := range t.users {
			if o.Name != u.Name && o.Has(RoleManagement) {
				return nil
			}
		}
		return ErrLastManagement
	}
	return nil
}

// CheckSetToken fails for an unknown user or a hash another user holds.
func (t *Table) CheckSetToken(r *SetTokenRequest) error {
	if _, ok := t.users[r.Name]; !ok {
		return ErrUserNotFound
	}
	if owner, ok := t.byHash[r.TokenHash]; ok && owner != r.Name {
		return ErrTokenInUse
	}
	return nil
}

// Bootstrap applies a BootstrapRequest at index.
func (t *Table) Bootstrap(index uint64, r *BootstrapRequest) (*Result, error) {
	if err := t.CheckBootstrap(r); err != nil {
		return nil, err
	}
	u := &User{Name: BootstrapUser, Roles: []string{RoleManagement}, TokenHash: r.TokenHash, CreateIndex: index, ModifyIndex: index}
	t.put(u)
	t.bootstrapped = true
	return &Result{User: u.Clone(), Index: index}, nil
}

// CreateUser applies a CreateUserRequest at index.
func (t *Table) CreateUser(index uint64, r *CreateUserRequest) (*Result, error) {
	if err := t.CheckCreateUser(r); err != nil {
		return nil, err
	}
	u := &User{Name: r.Name, Roles: slices.Clone(r.Roles), TokenHash: r.TokenHash, CreateIndex: index, ModifyIndex: index}
	t.put(u)
	return &Result{User: u.Clone(), Index: index}, nil
}

// DeleteUser applies a DeleteUserRequest at index.
func (t *Table) DeleteUser(index uint64, r *DeleteUserRequest) (*Result, error) {
	if err := t.CheckDeleteUser(r); err != nil {
		return nil, err
	}
	u := t.users[r.Name]
	delete(t.users, u.Name)
	delete(t.byHash, u.TokenHash)
	return &Result{User: u.Clone(), Index: index}, nil
}

// SetToken applies a SetTokenRequest at index.
func (t *Table) SetToken(index uint64, r *SetTokenRequest) (*Result, error) {
	if err := t.CheckSetToken(r); err != nil {
		return nil, err
	}
	next := *t.users[r.Name] // a new user: stored ones are shared with clones
	next.TokenHash, next.ModifyIndex = r.TokenHash, index
	t.put(&next)
	return &Result{User: next.Clone(), Index: index}, nil
}

// Bootstrapped reports whether the cluster's ACLs were bootstrapped.
func (t *Table) Bootstrapped() bool { return t.bootstrapped }

// ByTokenHash returns the user whose token has hash h (shared: clone it).
func (t *Table) ByTokenHash(h string) (*User, bool) {
	name, ok := t.byHash[h]
	if !ok {
		return nil, false
	}
	return t.users[name], true
}

// Get returns the user called name (shared: clone it).
func (t *Table) Get(name string) (*User, bool) {
	u, ok := t.users[name]
	return u, ok
}

// All returns every user, ordered by name (shared: clone them).
func (t *Table) All() []*User {
	out := slices.Collect(maps.Values(t.users))
	slices.SortFunc(out, func(a, b *User) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Len returns the number of users.
func (t *Table) Len() int { return len(t.users) }
