package files

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Table is the files table. byOwner indexes owner -> name -> file; its
// keys are the stored files' own strings, so the index costs map entries
// only. intern maps a replica id or owner to one shared copy: a handful
// of servers and users recur across millions of files. A Table is not
// safe for concurrent use: fsm guards it with its lock.
type Table struct {
	byID    map[string]*File
	byOwner map[string]map[string]*File
	intern  map[string]string
	// bytes is the sum of the files' sizes (one copy each).
	bytes int64
}

// New returns an empty table.
func New() *Table {
	return &Table{byID: map[string]*File{}, byOwner: map[string]map[string]*File{}, intern: map[string]string{}}
}

// Clone copies the indexes (not the immutable files): the copy a snapshot
// takes. The intern cache is not state and starts empty.
func (t *Table) Clone() *Table {
	c := &Table{byID: maps.Clone(t.byID), byOwner: make(map[string]map[string]*File, len(t.byOwner)), intern: map[string]string{}, bytes: t.bytes}
	for owner, names := range t.byOwner {
		c.byOwner[owner] = maps.Clone(names)
	}
	return c
}

func (t *Table) str(s string) string {
	if v, ok := t.intern[s]; ok {
		return v
	}
	t.intern[s] = s
	return s
}

// replicas returns an exactly sized copy of ids, each interned.
func (t *Table) replicas(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.str(id)
	}
	return out
}

// put stores f, replacing the file with its id (which, when there is
// one, has the same owner and name).
func (t *Table) put(f *File) {
	if old, ok := t.byID[f.ID]; ok {
		t.bytes -= old.Size
	}
	t.bytes += f.Size
	t.byID[f.ID] = f
	names, ok := t.byOwner[f.Owner]
	if !ok {
		names = map[string]*File{}
		t.byOwner[f.Owner] = names
	}
	names[f.Name] = f
}

func (t *Table) remove(f *File) {
	t.bytes -= f.Size
	delete(t.byID, f.ID)
	names := t.byOwner[f.Owner]
	delete(names, f.Name)
	if len(names) == 0 {
		delete(t.byOwner, f.Owner)
	}
}

// The Check methods answer whether a command would fail on the table as
// it is, without changing it: the command itself calls them first, and
// fsm's Precheck calls them so a refused write leaves no Raft entry.

// CheckCreate fails when the id or the (owner, name) is taken.
func (t *Table) CheckCreate(r *CreateRequest) error {
	if _, ok := t.byID[r.ID]; ok {
		return ErrFileExists
	}
	if _, ok := t.byOwner[r.Owner][r.Name]; ok {
		return ErrFileExists
	}
	return nil
}

// CheckUpdate fails for an unknown file or a version other than the
// current one plus one.
func (t *Table) CheckUpdate(r *UpdateRequest) error {
	f, ok := t.byID[r.ID]
	if !ok {
		return ErrFileNotFound
	}
	if r.Version != f.Version+1 {
		return ErrStaleVersion
	}
	return nil
}

// CheckDelete fails for an unknown file or when By is not its owner.
func (t *Table) CheckDelete(r *DeleteRequest) error { return t.CheckOwner(r.ID, r.By) }

// CheckOwner fails for an unknown file or when by is not its owner.
func (t *Table) CheckOwner(id, by string) error {
	f, ok := t.byID[id]
	if !ok {
		return ErrFileNotFound
	}
	if f.Owner != by {
		return ErrNotOwner
	}
	return nil
}

// CheckSetReplicas fails for an unknown file or a version other than the
// current one (the copies moved were of another version).
func (t *Table) CheckSetReplicas(r *SetReplicasRequest) error {
	f, ok := t.byID[r.ID]
	if !ok {
		return ErrFileNotFound
	}
	if r.Version != f.Version {
		return ErrStaleVersion
	}
	return nil
}

// Create applies a CreateRequest at index: version 1.
func (t *Table) Create(index uint64, r *CreateRequest) (*Result, error) {
	if err := t.CheckCreate(r); err != nil {
		return nil, err
	}
	f := &File{
		ID: r.ID, Owner: t.str(r.Owner), Name: r.Name, Version: 1, Size: r.Size, SHA256: r.SHA256,
		Replicas: t.replicas(r.Replicas), Want: r.Want,
		CreateIndex: index, ModifyIndex: index, Created: r.Time, Modified: r.Time,
	}
	t.put(f)
	return &Result{File: f.Clone(), Index: index}, nil
}

// Update applies an UpdateRequest at index. The lock is fsm's check.
func (t *Table) Update(index uint64, r *UpdateRequest) (*Result, error) {
	if err := t.CheckUpdate(r); err != nil {
		return nil, err
	}
	old := t.byID[r.ID]
	next := *old
	next.Version, next.Size, next.SHA256 = r.Version, r.Size, r.SHA256
	next.Replicas, next.ModifyIndex, next.Modified = t.replicas(r.Replicas), index, r.Time
	t.put(&next)
	was := old.Clone()
	return &Result{File: next.Clone(), Old: &was, Index: index}, nil
}

// Delete applies a DeleteRequest at index.
func (t *Table) Delete(index uint64, r *DeleteRequest) (*Result, error) {
	if err := t.CheckDelete(r); err != nil {
		return nil, err
	}
	f := t.byID[r.ID]
	t.remove(f)
	return &Result{File: f.Clone(), Index: index}, nil
}

// SetReplicas applies a SetReplicasRequest at index. The file keeps its
// version and modification time: its content did not change.
func (t *Table) SetReplicas(index uint64, r *SetReplicasRequest) (*Result, error) {
	if err := t.CheckSetReplicas(r); err != nil {
		return nil, err
	}
	old := t.byID[r.ID]
	next := *old
	next.Replicas, next.ModifyIndex = t.replicas(r.Replicas), index
	t.put(&next)
	was := old.Clone()
	return &Result{File: next.Clone(), Old: &was, Index: index}, nil
}

// Reorder stably sorts file id's replicas by rank (lowest first) and,
// when that changes their order, stores the file anew at index (its
// version, content and modification time stay: only which copy is the
// primary changed). It reports whether the file changed; an unknown id
// changes nothing. rank must be a pure function of the server id.
func (t *Table) Reorder(index uint64, id string, rank func(server string) int) bool {
	f, ok := t.byID[id]
	if !ok {
		return false
	}
	byRank := func(a, b string) int { return cmp.Compare(rank(a), rank(b)) }
	if slices.IsSortedFunc(f.Replicas, byRank) {
		return false
	}
	next := *f
	next.Replicas = slices.Clone(f.Replicas) // the ids stay interned
	slices.SortStableFunc(next.Replicas, byRank)
	next.ModifyIndex = index
	t.put(&next)
	return true
}

// Holding returns the ids of the files with a replica on server, in no
// particular order (callers treat each file on its own). It walks every
// file: no per-server index is kept. Measured on a 2-core VM with a
// million files on five servers (fsm's BenchmarkSetServerState): the
// walk takes 0.4-0.5 s, the whole state change 1-1.7 s, dominated by
// reordering and requeueing the 600,000 files held; a per-server index
// cost 140 B per file (+30 % heap) and saved only the walk. A server's
// state changes rarely; every create would pay for the index.
func (t *Table) Holding(server string) []string {
	var out []string
	for id, f := range t.byID {
		if slices.Contains(f.Replicas, server) {
			out = append(out, id)
		}
	}
	return out
}

// Bytes returns the sum of the files' sizes (one copy each).
func (t *Table) Bytes() int64 { return t.bytes }

// Get returns the file with id (shared: clone it).
func (t *Table) Get(id string) (*File, bool) {
	f, ok := t.byID[id]
	return f, ok
}

// ByName returns owner's file called name (shared: clone it).
func (t *Table) ByName(owner, name string) (*File, bool) {
	f, ok := t.byOwner[owner][name]
	return f, ok
}

// OwnedBy returns owner's files ordered by name (shared: clone them).
func (t *Table) OwnedBy(owner string) []*File {
	out := slices.Collect(maps.Values(t.byOwner[owner]))
	slices.SortFunc(out, func(a, b *File) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// All returns every file ordered by id (shared: clone them).
func (t *Table) All() []*File {
	out := slices.Collect(maps.Values(t.byID))
	slices.SortFunc(out, func(a, b *File) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Each calls fn for every file in no particular order, until fn returns
// false: for totals, where sorting millions of files would be waste.
func (t *Table) Each(fn func(*File) bool) {
	for _, f := range t.byID {
		if !fn(f) {
			return
		}
	}
}

// Len returns the number of files.
func (t *Table) Len() int { return len(t.byID) }
