package fsm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

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

// snapshotData is the persisted form (version 2). Each table encodes and
// checks its own section; fsm knows only their names.
type snapshotData struct {
	Version int                        `json:"version"`
	Applied uint64                     `json:"applied"`
	Tables  map[string]json.RawMessage `json:"tables"`
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

// sectionWriter is one table's section, when the table is in use.
type sectionWriter struct {
	name  string
	used  bool
	write func(io.Writer) error
}

// bytesSection adapts a table that encodes its section whole.
func bytesSection(encode func() ([]byte, error)) func(io.Writer) error {
	return func(w io.Writer) error {
		raw, err := encode()
		if err != nil {
			return err
		}
		_, err = w.Write(raw)
		return err
	}
}

// write streams the snapshot: the bytes are those of json.Encoder
// encoding a snapshotData (sections in name order, no whitespace, a final
// newline), but no section is ever held whole, and the files table, which
// may hold millions of files, streams one file at a time.
func (s *snapshot) write(w io.Writer) error {
	t := s.tables
	secs := []sectionWriter{
		{catalogSection, true, bytesSection(t.catalog.EncodeSection)},
		// An unused ACL table is left out: it restores as empty all the
		// same, and agents from before the table existed (which refuse
		// unknown sections) can still restore this snapshot during a
		// rolling upgrade.
		{aclSection, t.acl.Bootstrapped() || t.acl.Len() > 0, bytesSection(t.acl.EncodeSection)},
		// The directory's tables likewise, each while unused: a cluster
		// that never ran a file server snapshots as before.
		{fileServersSection, t.servers.Len() > 0 || t.servers.LastRing() > 0, bytesSection(t.servers.EncodeSection)},
		{filesSection, t.files.Len() > 0, t.files.WriteSection},
		{locksSection, t.locks.Len() > 0 || t.locks.Fences() > 0, bytesSection(t.locks.EncodeSection)},
		{sharesSection, t.shares.Len() > 0, bytesSection(t.shares.EncodeSection)},
	}
	slices.SortFunc(secs, func(a, b sectionWriter) int { return strings.Compare(a.name, b.name) })

	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := fmt.Fprintf(bw, `{"version":%d,"applied":%d,"tables":{`, snapshotVersion, s.applied); err != nil {
		return err
	}
	first := true
	for _, sec := range secs {
		if !sec.used {
			continue
		}
		if !first {
			if err := bw.WriteByte(','); err != nil {
				return err
			}
		}
		first = false
		if _, err := fmt.Fprintf(bw, "%q:", sec.name); err != nil {
			return err
		}
		if err := sec.write(bw); err != nil {
			return fmt.Errorf("%s: %w", sec.name, err)
		}
	}
	if _, err := bw.WriteString("}}\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// Release is a no-op: the copy is garbage collected.
func (s *snapshot) Release() {}

// Restore replaces the whole state with a snapshot's, then wakes every
// watcher, since anything may have changed. A snapshot that fails to
// decode or to pass a table's checks leaves the state as it was.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	applied, next, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	queue := buildQueue(next.servers, next.files)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.catalog = next.catalog
	f.acl = next.acl
	f.servers, f.files, f.locks, f.shares = next.servers, next.files, next.locks, next.shares
	f.queue = queue
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

// readSnapshot reads either version from r, streaming: a version 2
// snapshot (which every agent writes "version" first) is decoded section
// by section as it is read, the files section one file at a time, never
// held whole. It reads what json.Unmarshal into snapshotData or
// snapshotV1 reads: top-level keys in any order (a "tables" before the
// version is buffered, then decoded), without regard to case, nothing
// after the object but white space.
func readSnapshot(r io.Reader) (uint64, tables, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	if err := expectDelim(dec, '{'); err != nil {
		return 0, tables{}, err
	}
	var (
		version  int
		applied  uint64
		next     tables
		streamed bool
		rawTabs  json.RawMessage                // "tables" read before the version
		rest     = map[string]json.RawMessage{} // version 1's catalog fields
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, tables{}, err
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "version"):
			if err := dec.Decode(&version); err != nil {
				return 0, tables{}, fmt.Errorf("version: %w", err)
			}
			if version != 1 && version != 2 {
				return 0, tables{}, fmt.Errorf("unsupported version %d", version)
			}
		case strings.EqualFold(key, "applied"):
			if err := dec.Decode(&applied); err != nil {
				return 0, tables{}, fmt.Errorf("applied: %w", err)
			}
		case strings.EqualFold(key, "tables") && version == 2:
			if next, err = readTables(dec); err != nil {
				return 0, tables{}, err
			}
			streamed, rawTabs = true, nil
		case strings.EqualFold(key, "tables"):
			if err := dec.Decode(&rawTabs); err != nil {
				return 0, tables{}, fmt.Errorf("tables: %w", err)
			}
			streamed = false
		default:
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return 0, tables{}, err
			}
			rest[key] = raw
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return 0, tables{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the snapshot")
		}
		return 0, tables{}, err
	}

	switch version {
	case 1:
		// The catalog's section, at the top level.
		obj, err := json.Marshal(rest)
		if err != nil {
			return 0, tables{}, err
		}
		var sec catalog.Section
		if err := json.Unmarshal(obj, &sec); err != nil {
			return 0, tables{}, err
		}
		cat, err := catalog.FromSection(sec)
		if err != nil {
			return 0, tables{}, err
		}
		return applied, tables{catalog: cat, acl: acl.New(),
			servers: fileservers.New(), files: files.New(), locks: locks.New(), shares: shares.New()}, nil
	case 2:
		if !streamed {
			var err error
			if rawTabs == nil {
				next, err = emptyTables(tables{})
			} else {
				next, err = readTables(json.NewDecoder(bytes.NewReader(rawTabs)))
			}
			if err != nil {
				return 0, tables{}, err
			}
		}
		return applied, next, nil
	}
	return 0, tables{}, fmt.Errorf("unsupported version %d", version)
}

// readTables reads the value of "tables" from dec, each section as it
// comes. A missing section is an empty table: snapshots taken before a
// table existed do not mention it (one without "acl" restores as not
// bootstrapped, no users). A null "tables" has no sections.
func readTables(dec *json.Decoder) (tables, error) {
	var next tables
	tok, err := dec.Token()
	if err != nil {
		return tables{}, fmt.Errorf("tables: %w", err)
	}
	if tok != nil {
		if tok != json.Delim('{') {
			return tables{}, fmt.Errorf("tables: want an object, not %v", tok)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return tables{}, fmt.Errorf("tables: %w", err)
			}
			name, _ := tok.(string)
			if err := readSection(dec, name, &next); err != nil {
				return tables{}, err
			}
		}
		if err := expectDelim(dec, '}'); err != nil {
			return tables{}, fmt.Errorf("tables: %w", err)
		}
	}
	return emptyTables(next)
}

// emptyTables fills in the tables a snapshot had no section for.
func emptyTables(t tables) (tables, error) {
	if t.catalog == nil {
		t.catalog = catalog.New()
	}
	if t.acl == nil {
		t.acl = acl.New()
	}
	if t.servers == nil {
		t.servers = fileservers.New()
	}
	if t.files == nil {
		t.files = files.New()
	}
	if t.locks == nil {
		t.locks = locks.New()
	}
	if t.shares == nil {
		t.shares = shares.New()
	}
	return t, nil
}

// readSection reads section name, dec's next value, into its table. A
// section seen twice replaces the first, as with json.Unmarshal.
func readSection(dec *json.Decoder, name string, next *tables) error {
	var err error
	switch name {
	case catalogSection:
		next.catalog, err = bufferedSection(dec, catalog.DecodeSection)
	case aclSection:
		next.acl, err = bufferedSection(dec, acl.DecodeSection)
	case fileServersSection:
		next.servers, err = bufferedSection(dec, fileservers.DecodeSection)
	case filesSection:
		next.files, err = files.ReadSection(dec)
	case locksSection:
		next.locks, err = bufferedSection(dec, locks.DecodeSection)
	case sharesSection:
		next.shares, err = bufferedSection(dec, shares.DecodeSection)
	default:
		// A newer agent's table: restoring without it would lose it.
		return fmt.Errorf("unknown table %q", name)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// bufferedSection decodes a section its table decodes whole. A null
// section is refused: no agent writes one, so it is damage, not an empty
// table.
func bufferedSection[T any](dec *json.Decoder, decode func([]byte) (*T, error)) (*T, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil, errNullSection
	}
	return decode(raw)
}

var errNullSection = errors.New("section is null")

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("want %v, not %v", want, tok)
	}
	return nil
}
