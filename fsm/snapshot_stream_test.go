package fsm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custodes/custodes/fsm/files"
)

// oldEncoding is how agents wrote a snapshot before Persist streamed: each
// used table's section whole, then json.Encoder on a snapshotData.
func oldEncoding(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	s := snap.(*snapshot).tables
	data := snapshotData{Version: 2, Applied: f.AppliedIndex(), Tables: map[string]json.RawMessage{}}
	add := func(name string, used bool, encode func() ([]byte, error)) {
		if !used {
			return
		}
		raw, err := encode()
		if err != nil {
			t.Fatal(err)
		}
		data.Tables[name] = raw
	}
	add(catalogSection, true, s.catalog.EncodeSection)
	add(aclSection, s.acl.Bootstrapped() || s.acl.Len() > 0, s.acl.EncodeSection)
	add(fileServersSection, s.servers.Len() > 0 || s.servers.LastRing() > 0, s.servers.EncodeSection)
	add(filesSection, s.files.Len() > 0, func() ([]byte, error) { return json.Marshal(files.Section{Files: s.files.All()}) })
	add(locksSection, s.locks.Len() > 0 || s.locks.Fences() > 0, s.locks.EncodeSection)
	add(sharesSection, s.shares.Len() > 0, s.shares.EncodeSection)
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(&data); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The streamed snapshot is byte for byte what agents wrote before it
// streamed: older agents restore it during a rolling upgrade, and
// replicas of either agree.
func TestPersistStreamsTheSameBytes(t *testing.T) {
	h := dfsHarness(t)
	populateDFS(h)
	populate(h)
	if got, want := persist(t, h.fsm), oldEncoding(t, h.fsm); !bytes.Equal(got, want) {
		t.Fatalf("streamed:\n%s\nbefore:\n%s", got, want)
	}
	empty := New(DefaultConfig())
	if got, want := persist(t, empty), oldEncoding(t, empty); !bytes.Equal(got, want) {
		t.Fatalf("streamed:\n%s\nbefore:\n%s", got, want)
	}
}

// Restore streams a snapshot as every agent writes it, and still reads
// any layout json.Unmarshal read: white space, keys in another order or
// case ("tables" before "version" is buffered, then decoded).
func TestRestoreReadsOtherLayouts(t *testing.T) {
	h := dfsHarness(t)
	populateDFS(h)
	populate(h)
	want := persist(t, h.fsm)
	var data snapshotData
	if err := json.Unmarshal(want, &data); err != nil {
		t.Fatal(err)
	}
	indented, _ := json.MarshalIndent(&data, "", "\t")
	tablesFirst, _ := json.Marshal(map[string]any{"tables": data.Tables, "version": 2, "applied": data.Applied})
	for name, layout := range map[string]string{
		"indented":     string(indented),
		"tables first": string(tablesFirst),
		"key case":     strings.Replace(strings.Replace(string(want), `"version"`, `"Version"`, 1), `"tables"`, `"TABLES"`, 1),
		"extra key":    strings.Replace(string(want), `"applied"`, `"note":{"a":[1]},"applied"`, 1),
	} {
		back := New(DefaultConfig())
		if err := restore(back, []byte(layout)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := persist(t, back); !bytes.Equal(got, want) {
			t.Fatalf("%s: restored to\n%s\nwant\n%s", name, got, want)
		}
	}
}

func TestRestoreRefusesBrokenFilesSection(t *testing.T) {
	h := dfsHarness(t)
	populateDFS(h)
	valid := string(persist(t, h.fsm))
	for name, data := range map[string]string{
		"null":              `{"version":2,"applied":1,"tables":{"files":null}}`,
		"not an object":     `{"version":2,"applied":1,"tables":{"files":[]}}`,
		"files not a list":  `{"version":2,"applied":1,"tables":{"files":{"files":1}}}`,
		"null file":         `{"version":2,"applied":1,"tables":{"files":{"files":[null]}}}`,
		"truncated":         valid[:strings.Index(valid, `"files":{`)+100],
		"unknown after":     strings.Replace(valid, `,"locks":`, `,"zzz":{},"locks":`, 1),
		"garbage after":     valid + "]",
		"tables first, bad": `{"tables":{"files":null},"version":2}`,
	} {
		err := restore(h.fsm, []byte(data))
		if err == nil || strings.Contains(err.Error(), "panicked") {
			t.Fatalf("%s: Restore = %v, want an error", name, err)
		}
		if name != "unknown after" && name != "garbage after" && name != "truncated" && !strings.Contains(err.Error(), filesSection) {
			t.Errorf("%s: error %q does not name the section", name, err)
		}
	}
	if got := persist(t, h.fsm); string(got) != valid {
		t.Fatal("a refused snapshot changed the state")
	}
}
