package fsm

import "github.com/custodes/custodes/fsm/acl"

// The ACL table's reads: take the lock, ask the table, clone what it
// returns. Every request resolves its token here, on the local replica.

// ACLBootstrapped reports whether the cluster's ACLs were bootstrapped.
func (f *FSM) ACLBootstrapped() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.acl.Bootstrapped()
}

// UserByTokenHash returns the user whose token has the hex SHA-256 hash.
func (f *FSM) UserByTokenHash(hash string) (acl.User, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	u, ok := f.acl.ByTokenHash(hash)
	if !ok {
		return acl.User{}, false
	}
	return u.Clone(), true
}

// User returns the user called name.
func (f *FSM) User(name string) (acl.User, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	u, ok := f.acl.Get(name)
	if !ok {
		return acl.User{}, false
	}
	return u.Clone(), true
}

// Users returns every user, ordered by name.
func (f *FSM) Users() []acl.User {
	f.mu.RLock()
	defer f.mu.RUnlock()
	all := f.acl.All()
	out := make([]acl.User, len(all))
	for i, u := range all {
		out[i] = u.Clone()
	}
	return out
}
