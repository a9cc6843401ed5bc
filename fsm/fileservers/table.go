package fileservers

import (
	"cmp"
	"maps"
	"slices"
)

// Table is the file servers table. ring is the last ring position handed
// out. A Table is not safe for concurrent use: fsm guards it with its
// lock.
type Table struct {
	servers map[string]*Server
	ring    uint64
}

// New returns an empty table.
func New() *Table { return &Table{servers: map[string]*Server{}} }

// Clone copies the table and its servers: the servers are few and
// changed in place, so the snapshot's copy must own its own.
func (t *Table) Clone() *Table {
	c := &Table{servers: make(map[string]*Server, len(t.servers)), ring: t.ring}
	for id, s := range t.servers {
		cp := *s
		c.servers[id] = &cp
	}
	return c
}

// CheckSetState fails for an unknown server.
func (t *Table) CheckSetState(r *SetStateRequest) error {
	s, ok := t.servers[r.ID]
	if !ok {
		return ErrServerNotFound
	}
	if r.IfIndex != 0 && s.ModifyIndex != r.IfIndex {
		return ErrServerChanged
	}
	return nil
}

// Register applies a RegisterRequest at index: a new server takes the
// next ring position; a known one keeps its position and counts, takes
// the address and is alive again.
func (t *Table) Register(index uint64, r *RegisterRequest) (*Result, error) {
	s, ok := t.servers[r.ID]
	if !ok {
		t.ring++
		s = &Server{ID: r.ID, Ring: t.ring, CreateIndex: index}
		t.servers[r.ID] = s
	}
	s.Address, s.State, s.ModifyIndex = r.Address, StateAlive, index
	return &Result{Server: *s, Index: index}, nil
}

// SetState applies a SetStateRequest at index.
func (t *Table) SetState(index uint64, r *SetStateRequest) (*Result, error) {
	if err := t.CheckSetState(r); err != nil {
		return nil, err
	}
	s := t.servers[r.ID]
	s.State, s.ModifyIndex = r.State, index
	return &Result{Server: *s, Index: index}, nil
}

// AddCopy counts one more copy of size bytes on server id. An unknown id
// is ignored: the glue checked every replica before, and servers are
// never removed.
func (t *Table) AddCopy(id string, size int64) {
	if s, ok := t.servers[id]; ok {
		s.Files++
		s.Bytes += size
	}
}

// RemoveCopy counts one copy of size bytes fewer on server id.
func (t *Table) RemoveCopy(id string, size int64) {
	if s, ok := t.servers[id]; ok {
		s.Files--
		s.Bytes -= size
	}
}

// Get returns the server with id (shared: copy it).
func (t *Table) Get(id string) (*Server, bool) {
	s, ok := t.servers[id]
	return s, ok
}

// Has reports whether id is a registered server.
func (t *Table) Has(id string) bool {
	_, ok := t.servers[id]
	return ok
}

// All returns every server in ring order (shared: copy them).
func (t *Table) All() []*Server {
	out := slices.Collect(maps.Values(t.servers))
	slices.SortFunc(out, func(a, b *Server) int { return cmp.Compare(a.Ring, b.Ring) })
	return out
}

// Len returns the number of servers.
func (t *Table) Len() int { return len(t.servers) }

// LastRing returns the last ring position handed out (0 for none).
func (t *Table) LastRing() uint64 { return t.ring }
