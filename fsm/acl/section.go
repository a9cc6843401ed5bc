package acl

import (
	"encoding/json"
	"fmt"
)

// Section is the table's part of a snapshot: token hashes only, never a
// token.
type Section struct {
	Bootstrapped bool    `json:"bootstrapped"`
	Users        []*User `json:"users"`
}

// EncodeSection returns the JSON of the table's section, users ordered by
// name so that equal tables encode to equal bytes.
func (t *Table) EncodeSection() ([]byte, error) {
	users := t.All()
	if users == nil {
		users = []*User{} // "users":[] rather than null, for readers of the file
	}
	return json.Marshal(Section{Bootstrapped: t.bootstrapped, Users: users})
}

// DecodeSection builds a table from the JSON of a section.
func DecodeSection(data []byte) (*Table, error) {
	var s Section
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return FromSection(s)
}

// FromSection builds a table from a decoded section, refusing one no
// sequence of commands could have produced (a user breaking the rules, a
// name or token hash twice, users without a bootstrap): such a snapshot
// would break the indexes or let a token act as two users.
func FromSection(s Section) (*Table, error) {
	next := New()
	next.bootstrapped = s.Bootstrapped
	for i, u := range s.Users {
		if u == nil {
			return nil, fmt.Errorf("user %d is null", i)
		}
		if err := (&CreateUserRequest{Name: u.Name, Roles: u.Roles, TokenHash: u.TokenHash}).Validate(); err != nil {
			return nil, fmt.Errorf("user %d: %w", i, err)
		}
		if _, dup := next.users[u.Name]; dup {
			return nil, fmt.Errorf("user %q appears twice", u.Name)
		}
		if _, dup := next.byHash[u.TokenHash]; dup {
			return nil, fmt.Errorf("user %q: token hash appears twice", u.Name)
		}
		c := u.Clone()
		next.put(&c)
	}
	if len(next.users) > 0 && !next.bootstrapped {
		return nil, fmt.Errorf("users without a bootstrap")
	}
	return next, nil
}
