package files

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Section is the table's part of a snapshot:
//
//	{"files":[file, file, ...]}
//
// files ordered by id, each file as encoding/json writes a File, without
// whitespace. WriteSection and ReadSection stream it one file at a time,
// so that millions of files never make one giant value; the bytes are
// exactly those json.Marshal(Section) gives, so agents that decode the
// section whole read it too.
type Section struct {
	Files []*File `json:"files"`
}

// EncodeSection returns the JSON of the table's section, files ordered by
// id so that equal tables encode to equal bytes.
func (t *Table) EncodeSection() ([]byte, error) {
	var buf bytes.Buffer
	if err := t.WriteSection(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sortEntry is a file to write, keyed by its id. key holds the id's first
// 8 bytes big-endian, so most comparisons never leave the slice (ids are
// random: chasing their bytes across the heap is what makes sorting
// millions of them slow); equal keys fall back to the whole ids.
type sortEntry struct {
	key uint64
	id  string
	f   *File
}

func prefixKey(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

func compareEntries(a, b sortEntry) int {
	if a.key != b.key {
		if a.key < b.key {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// WriteSection streams the table's section to w (the same bytes as
// EncodeSection). The table must not change meanwhile: fsm writes a
// snapshot's clone.
func (t *Table) WriteSection(w io.Writer) error {
	all := make([]sortEntry, 0, len(t.byID))
	for id, f := range t.byID {
		all = append(all, sortEntry{key: prefixKey(id), id: id, f: f})
	}
	slices.SortFunc(all, compareEntries)

	bw := bufio.NewWriterSize(w, 64<<10)
	// One encoder into one buffer for every file: no allocation per file.
	// The encoder ends each value with a newline, which is cut.
	var one bytes.Buffer
	enc := json.NewEncoder(&one)
	if _, err := bw.WriteString(`{"files":[`); err != nil {
		return err
	}
	for i, e := range all {
		one.Reset()
		if i > 0 {
			one.WriteByte(',')
		}
		if err := enc.Encode(e.f); err != nil {
			return fmt.Errorf("file %q: %w", e.id, err)
		}
		b := one.Bytes()
		if _, err := bw.Write(b[:len(b)-1]); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString(`]}`); err != nil {
		return err
	}
	return bw.Flush()
}

// DecodeSection builds a table from the JSON of a section.
func DecodeSection(data []byte) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	t, err := ReadSection(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the section")
	}
	return t, nil
}

// ReadSection builds a table from the section that is dec's next value,
// decoding and checking one file at a time. It reads what json.Unmarshal
// into a Section reads: "files" matched without regard to case, other
// keys skipped, a null list of files empty. A null section is refused:
// no agent writes one, so it is damage, not an empty table.
func ReadSection(dec *json.Decoder) (*Table, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, errors.New("section is null")
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("want {, not %v", tok)
	}
	next := New()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key, _ := tok.(string); !strings.EqualFold(key, "files") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		// A repeated "files" replaces the earlier list, as with Unmarshal.
		next = New()
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		if tok == nil {
			continue
		}
		if tok != json.Delim('[') {
			return nil, fmt.Errorf("files: want a list, not %v", tok)
		}
		for i := 0; dec.More(); i++ {
			var f *File
			if err := dec.Decode(&f); err != nil {
				return nil, fmt.Errorf("file %d: %w", i, err)
			}
			if err := next.restore(i, f); err != nil {
				return nil, err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return next, nil
}

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

// FromSection builds a table from a decoded section, refusing one no
// sequence of commands could have produced: a file breaking the rules, an
// id or an (owner, name) twice. Such a snapshot would break the indexes.
// The section's files are taken over, not copied: the caller drops it.
func FromSection(s Section) (*Table, error) {
	next := New()
	for i, f := range s.Files {
		if err := next.restore(i, f); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// restore checks the i-th file of a section and adds it, taking it over.
func (t *Table) restore(i int, f *File) error {
	if f == nil {
		return fmt.Errorf("file %d is null", i)
	}
	req := CreateRequest{ID: f.ID, Owner: f.Owner, Name: f.Name, Size: f.Size, SHA256: f.SHA256, Replicas: f.Replicas, Want: f.Want}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("file %d: %w", i, err)
	}
	if f.Version == 0 {
		return fmt.Errorf("file %q: version 0", f.ID)
	}
	if err := t.CheckCreate(&req); err != nil {
		return fmt.Errorf("file %q (%s's %q) appears twice", f.ID, f.Owner, f.Name)
	}
	f.Owner, f.Replicas = t.str(f.Owner), t.replicas(f.Replicas)
	t.put(f)
	return nil
}
