package fileservers

import (
	"encoding/json"
	"fmt"
)

// Section is the table's part of a snapshot. Ring is the counter itself,
// not derived from the servers on restore: positions must never be
// reused, whatever a later change may remove.
type Section struct {
	Ring    uint64    `json:"ring"`
	Servers []*Server `json:"servers"`
}

// EncodeSection returns the JSON of the table's section, servers in ring
// order so that equal tables encode to equal bytes.
func (t *Table) EncodeSection() ([]byte, error) {
	servers := t.All()
	if servers == nil {
		servers = []*Server{}
	}
	return json.Marshal(Section{Ring: t.ring, Servers: servers})
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
// sequence of commands could have produced: a server breaking the rules,
// an id or ring position twice, a position beyond the counter, negative
// counts.
func FromSection(s Section) (*Table, error) {
	next := New()
	next.ring = s.Ring
	rings := make(map[uint64]bool, len(s.Servers))
	for i, srv := range s.Servers {
		if srv == nil {
			return nil, fmt.Errorf("server %d is null", i)
		}
		if err := (&RegisterRequest{ID: srv.ID, Address: srv.Address}).Validate(); err != nil {
			return nil, fmt.Errorf("server %d: %w", i, err)
		}
		if err := ValidateState(srv.State); err != nil {
			return nil, fmt.Errorf("server %q: %w", srv.ID, err)
		}
		if _, dup := next.servers[srv.ID]; dup {
			return nil, fmt.Errorf("server %q appears twice", srv.ID)
		}
		if srv.Ring == 0 || srv.Ring > s.Ring || rings[srv.Ring] {
			return nil, fmt.Errorf("server %q: ring %d is zero, taken or beyond the counter %d", srv.ID, srv.Ring, s.Ring)
		}
		if srv.Files < 0 || srv.Bytes < 0 {
			return nil, fmt.Errorf("server %q: negative counts", srv.ID)
		}
		rings[srv.Ring] = true
		cp := *srv
		next.servers[srv.ID] = &cp
	}
	return next, nil
}
