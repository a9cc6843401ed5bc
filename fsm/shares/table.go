package shares

import (
	"maps"
	"slices"
	"strings"
)

// Table is the shares table: file -> user -> mode, and the same by user.
// A Table is not safe for concurrent use: fsm guards it with its lock.
type Table struct {
	byFile map[string]map[string]string
	byUser map[string]map[string]string
}

// New returns an empty table.
func New() *Table {
	return &Table{byFile: map[string]map[string]string{}, byUser: map[string]map[string]string{}}
}

// Clone copies the table: the inner maps change in place, so the copy a
// snapshot takes must own its own.
func (t *Table) Clone() *Table {
	c := New()
	for file, users := range t.byFile {
		c.byFile[file] = maps.Clone(users)
	}
	for user, files := range t.byUser {
		c.byUser[user] = maps.Clone(files)
	}
	return c
}

func set(m map[string]map[string]string, a, b, mode string) {
	if mode == ModeNone {
		delete(m[a], b)
		if len(m[a]) == 0 {
			delete(m, a)
		}
		return
	}
	inner, ok := m[a]
	if !ok {
		inner = map[string]string{}
		m[a] = inner
	}
	inner[b] = mode
}

// Share applies a ShareRequest at index. The checks (file, owner, user)
// are the glue's, which knows the other tables.
func (t *Table) Share(index uint64, r *ShareRequest) (*Result, error) {
	old := t.byFile[r.File][r.User]
	set(t.byFile, r.File, r.User, r.Mode)
	set(t.byUser, r.User, r.File, r.Mode)
	return &Result{Share: Share{File: r.File, User: r.User, Mode: r.Mode}, Old: old, Index: index}, nil
}

// DropFile removes every share of file: it was deleted.
func (t *Table) DropFile(file string) {
	for user := range t.byFile[file] {
		set(t.byUser, user, file, ModeNone)
	}
	delete(t.byFile, file)
}

// Mode returns user's mode on file ("" for none).
func (t *Table) Mode(file, user string) string { return t.byFile[file][user] }

// OfFile returns file's shares ordered by user.
func (t *Table) OfFile(file string) []Share {
	out := make([]Share, 0, len(t.byFile[file]))
	for user, mode := range t.byFile[file] {
		out = append(out, Share{File: file, User: user, Mode: mode})
	}
	slices.SortFunc(out, func(a, b Share) int { return strings.Compare(a.User, b.User) })
	return out
}

// OfUser returns user's shares ordered by file.
func (t *Table) OfUser(user string) []Share {
	out := make([]Share, 0, len(t.byUser[user]))
	for file, mode := range t.byUser[user] {
		out = append(out, Share{File: file, User: user, Mode: mode})
	}
	slices.SortFunc(out, func(a, b Share) int { return strings.Compare(a.File, b.File) })
	return out
}

// All returns every share ordered by file, then user.
func (t *Table) All() []Share {
	files := slices.Sorted(maps.Keys(t.byFile))
	var out []Share
	for _, f := range files {
		out = append(out, t.OfFile(f)...)
	}
	return out
}

// Len returns the number of shares.
func (t *Table) Len() int {
	n := 0
	for _, users := range t.byFile {
		n += len(users)
	}
	return n
}
