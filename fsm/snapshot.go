package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
	"github.com/hashicorp/raft"
)

// snapshotVersion is bumped when the snapshot layout changes incompatibly.
// Version 1 held the catalog's fields at the top level; version 2 holds
// one section per table under "tables". Restore reads both.
const snapshotVersion = 2

// Section names: part of the on-disk format.
const (
	catalogSection     = "catalog"
	aclSection         = "acl"
	fileServersSection = "fileservers"
	filesSection       = "files"
	locksSection       = "locks"
	sharesSection      = "shares"
)

// knownSections are the sections this agent restores.
var knownSections = []string{catalogSection, aclSection, fileServersSection, filesSection, locksSection, sharesSection}

// snapshotData is the persisted form (version 2). Each table encodes and
// checks its own section; fsm knows only their names.
type snapshotData struct {
	Version int                        `json:"version"`
	Applied uint64                     `json:"applied"`
	Tables  map[string]json.RawMessage `json:"tables"`
}

// snapshotV1 is the layout before tables had sections: the catalog's
// section, at the top level.
type snapshotV1 struct {
	Version int    `json:"version"`
	Applied uint64 `json:"applied"`
	catalog.Section
}

// tables is the state a snapshot replaces as a whole.
type tables struct {
	catalog *catalog.Table
	acl     *acl.Table
	servers *fileservers.Table
	files   *files.Table
	locks   *locks.Table
	shares  *shares.Table
}

// snapshot is a point-in-time copy of the state, safe to persist while
// Apply goes on.
type snapshot struct {
	applied uint64
	tables  tables
}

// Snapshot takes the cheap copy; Persist does the I/O.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &snapshot{applied: f.applied, tables: tables{
		catalog: f.catalog.Clone(), acl: f.acl.Clone(),
		servers: f.servers.Clone(), files: f.files.Clone(), locks: f.locks.Clone(), shares: f.shares.Clone(),
	}}, nil
}

// Persist writes the snapshot as JSON, cancelling the sink on error.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) write(w io.Writer) error {
	cat, err := s.tables.catalog.EncodeSection()
	if err != nil {
		return fmt.Errorf("%s: %w", catalogSection, err)
	}
	data := snapshotData{
		Version: snapshotVersion,
		Applied: s.applied,
		Tables:  map[string]json.RawMessage{catalogSection: cat},
	}
	// An unused ACL table is left out: it restores as empty all the same,
	// and agents from before the table existed (which refuse unknown
	// sections) can still restore this snapshot during a rolling upgrade.
	if s.tables.acl.Bootstrapped() || s.tables.acl.Len() > 0 {
		users, err := s.tables.acl.EncodeSection()
		if err != nil {
			return fmt.Errorf("%s: %w", aclSection, err)
		}
		data.Tables[aclSection] = users
	}
	// The directory's tables likewise, each while unused: a cluster that
	// never ran a file server snapshots as before.
	t := s.tables
	for _, sec := range []struct {
		name   string
		used   bool
		encode func() ([]byte, error)
	}{
		{fileServersSection, t.servers.Len() > 0 || t.servers.LastRing() > 0, t.servers.EncodeSection},
		{filesSection, t.files.Len() > 0, t.files.EncodeSection},
		{locksSection, t.locks.Len() > 0 || t.locks.Fences() > 0, t.locks.EncodeSection},
		{sharesSection, t.shares.Len() > 0, t.shares.EncodeSection},
	} {
		if !sec.used {
			continue
		}
		raw, err := sec.encode()
		if err != nil {
			return fmt.Errorf("%s: %w", sec.name, err)
		}
		data.Tables[sec.name] = raw
	}
	return json.NewEncoder(w).Encode(&data)
}

// Release is a no-op: the copy is garbage collected.
func (s *snapshot) Release() {}

// Restore replaces the whole state with a snapshot's, then wakes every
// watcher, since anything may have changed. A snapshot that fails to
// decode or to pass a table's checks leaves the state as it was.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	applied, next, err := decodeSnapshot(raw)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.catalog = next.catalog
	f.acl = next.acl
	f.servers, f.files, f.locks, f.shares = next.servers, next.files, next.locks, next.shares
	f.applied = applied
	f.events.reset(applied)
	for key, ch := range f.watches {
		close(ch)
		delete(f.watches, key)
	}
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	return nil
}

// decodeSnapshot reads either version.
func decodeSnapshot(raw []byte) (uint64, tables, error) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return 0, tables{}, err
	}
	switch head.Version {
	case 1:
		var v1 snapshotV1
		if err := json.Unmarshal(raw, &v1); err != nil {
			return 0, tables{}, err
		}
		cat, err := catalog.FromSection(v1.Section)
		if err != nil {
			return 0, tables{}, err
		}
		return v1.Applied, tables{catalog: cat, acl: acl.New(),
			servers: fileservers.New(), files: files.New(), locks: locks.New(), shares: shares.New()}, nil
	case 2:
		var data snapshotData
		if err := json.Unmarshal(raw, &data); err != nil {
			return 0, tables{}, err
		}
		for name := range data.Tables {
			if !slices.Contains(knownSections, name) {
				// A newer agent's table: restoring without it would lose it.
				return 0, tables{}, fmt.Errorf("unknown table %q", name)
			}
		}
		// A missing section is an empty table: snapshots taken before a
		// table existed do not mention it (one without "acl" restores as
		// not bootstrapped, no users).
		cat, err := decodeSection(data.Tables, catalogSection, catalog.New, catalog.DecodeSection)
		if err != nil {
			return 0, tables{}, err
		}
		users, err := decodeSection(data.Tables, aclSection, acl.New, acl.DecodeSection)
		if err != nil {
			return 0, tables{}, err
		}
		next := tables{catalog: cat, acl: users}
		if next.servers, err = decodeSection(data.Tables, fileServersSection, fileservers.New, fileservers.DecodeSection); err != nil {
			return 0, tables{}, err
		}
		if next.files, err = decodeSection(data.Tables, filesSection, files.New, files.DecodeSection); err != nil {
			return 0, tables{}, err
		}
		if next.locks, err = decodeSection(data.Tables, locksSection, locks.New, locks.DecodeSection); err != nil {
			return 0, tables{}, err
		}
		if next.shares, err = decodeSection(data.Tables, sharesSection, shares.New, shares.DecodeSection); err != nil {
			return 0, tables{}, err
		}
		return data.Applied, next, nil
	}
	return 0, tables{}, fmt.Errorf("unsupported version %d", head.Version)
}

// decodeSection decodes one table's section, or returns an empty table
// when the snapshot has none. A null section is refused: no agent writes
// one, so it is damage, not an empty table.
func decodeSection[T any](secs map[string]json.RawMessage, name string, empty func() *T, dec func([]byte) (*T, error)) (*T, error) {
	sec, ok := secs[name]
	if !ok {
		return empty(), nil
	}
	if bytes.Equal(bytes.TrimSpace(sec), []byte("null")) {
		return nil, fmt.Errorf("%s: section is null", name)
	}
	t, err := dec(sec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
