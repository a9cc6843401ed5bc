package fsm

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
)

// populateDFS gives h (a dfsHarness) files of two owners, shares, a held
// lock, a fence left by an unlock, a dead server and counts.
func populateDFS(h *harness) {
	h.apply(DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: "s4", Address: "h:4"})
	h.apply(DFSCreateFileRequestType, createReq(1, "bob", "b/one", 10, "s1", "s2"))
	h.apply(DFSCreateFileRequestType, createReq(2, "bob", "a/two", 20, "s2", "s3"))
	h.apply(DFSCreateFileRequestType, createReq(3, "eve", "three", 30, "s4"))
	h.apply(DFSCreateFileRequestType, createReq(4, "eve", "four", 40, "s1"))
	h.apply(DFSShareRequestType, &shares.ShareRequest{File: fid(3), User: "bob", Mode: shares.ModeRead, By: "eve"})
	h.apply(DFSShareRequestType, &shares.ShareRequest{File: fid(1), User: "eve", Mode: shares.ModeWrite, By: "bob"})
	h.apply(DFSLockRequestType, &locks.LockRequest{File: fid(1), Holder: "bob", TokenHash: h64("a"), TTL: 60_000, Time: t0})
	h.apply(DFSLockRequestType, &locks.LockRequest{File: fid(2), Holder: "bob", TokenHash: h64("b"), TTL: 60_000, Time: t0})
	h.apply(DFSUnlockRequestType, &locks.UnlockRequest{File: fid(2), TokenHash: h64("b")})
	h.apply(DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: "s4", State: fileservers.StateDead})
}

func TestDFSReads(t *testing.T) {
	h := dfsHarness(t)
	populateDFS(h)
	f := h.fsm

	if s, ok := f.Server("s2"); !ok || s.Files != 2 || s.Bytes != 30 || s.Ring != 2 {
		t.Fatalf("server %+v", s)
	}
	var ring []string
	for _, s := range f.Servers() {
		ring = append(ring, s.ID)
	}
	if !reflect.DeepEqual(ring, []string{"s1", "s2", "s3", "s4"}) {
		t.Fatalf("ring order %v", ring)
	}
	if file, ok := f.FileByName("bob", "a/two"); !ok || file.ID != fid(2) {
		t.Fatal("file by name")
	}
	if _, ok := f.FileByName("eve", "a/two"); ok {
		t.Fatal("another owner's name")
	}
	// Reads are copies.
	file, _ := f.File(fid(1))
	file.Replicas[0] = "zz"
	if again, _ := f.File(fid(1)); again.Replicas[0] != "s1" {
		t.Fatal("File returned the stored replicas")
	}

	var got []string
	for _, fa := range f.FilesOf("bob") {
		got = append(got, fa.File.Name+":"+fa.Access)
	}
	if !reflect.DeepEqual(got, []string{"a/two:owner", "b/one:owner", "three:read"}) {
		t.Fatalf("files of bob %v", got)
	}
	if f.Access(fid(1), "bob") != AccessOwner || f.Access(fid(1), "eve") != AccessWrite || f.Access(fid(2), "eve") != "" || f.Access(fid(9), "bob") != "" {
		t.Fatal("access")
	}
	if l, ok := f.Lock(fid(1)); !ok || l.Fence != 1 || !l.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("lock %+v", l)
	}
	if _, ok := f.Lock(fid(2)); ok {
		t.Fatal("unlocked file has a lock")
	}
	// Every file wants 2 copies: one (s1, s2) and two (s2, s3) have them;
	// three's only copy is on the dead s4 (lost), four has one (s1).
	want := DFSSummary{Servers: 4, Files: 4, Bytes: 100, UnderReplicated: 2, Lost: 1, Queue: 2}
	if got := f.DFSSummary(); got != want {
		t.Fatalf("summary %+v, want %+v", got, want)
	}
}

func TestDFSSnapshotRoundTrip(t *testing.T) {
	h := dfsHarness(t)
	populateDFS(h)
	data := persist(t, h.fsm)
	var parsed snapshotData
	if err := json.Unmarshal(data, &parsed); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fileServersSection, filesSection, locksSection, sharesSection} {
		if _, ok := parsed.Tables[name]; !ok {
			t.Fatalf("no %s section", name)
		}
	}

	back := New(DefaultConfig())
	if err := restore(back, data); err != nil {
		t.Fatal(err)
	}
	if again := persist(t, back); string(again) != string(data) {
		t.Fatalf("round trip differs:\n%s\n%s", data, again)
	}
	for _, user := range []string{"bob", "eve"} {
		if !reflect.DeepEqual(back.FilesOf(user), h.fsm.FilesOf(user)) {
			t.Fatalf("files of %s differ", user)
		}
	}
	if !reflect.DeepEqual(back.Servers(), h.fsm.Servers()) || back.DFSSummary() != h.fsm.DFSSummary() {
		t.Fatal("servers or summary differ")
	}
	// The ring counter, fences and indexes came back: the next server is
	// ring 5, the unlocked file's next lock is fence 2.
	hb := &harness{tb: t, fsm: back, index: h.index}
	if r := hb.apply(DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: "s5", Address: "h:5"}).(*fileservers.Result); r.Server.Ring != 5 {
		t.Fatalf("ring %d", r.Server.Ring)
	}
	if r := hb.apply(DFSLockRequestType, &locks.LockRequest{File: fid(2), Holder: "bob", TokenHash: h64("c"), TTL: 1000, Time: t0}).(*locks.Result); r.Lock.Fence != 2 {
		t.Fatalf("fence %d", r.Lock.Fence)
	}
	if err, _ := hb.apply(DFSCreateFileRequestType, createReq(9, "bob", "a/two", 1, "s1")).(error); err != ErrFileExists {
		t.Fatalf("name index: %v", err)
	}
}

// A snapshot from before the directory (or of a cluster that never used
// it) has none of its sections, and restores to empty tables, even over
// a replica that had some.
func TestDFSSnapshotWithoutSections(t *testing.T) {
	empty := persist(t, New(DefaultConfig()))
	for _, name := range []string{fileServersSection, filesSection, locksSection, sharesSection} {
		if strings.Contains(string(empty), `"`+name+`"`) {
			t.Fatalf("an unused table wrote its section %s: %s", name, empty)
		}
	}
	h := dfsHarness(t)
	populateDFS(h)
	if err := restore(h.fsm, empty); err != nil {
		t.Fatal(err)
	}
	if len(h.fsm.Servers()) != 0 || h.fsm.DFSSummary() != (DFSSummary{}) || len(h.fsm.FilesOf("bob")) != 0 {
		t.Fatal("restored tables are not empty")
	}
	if r := h.apply(DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: "s1", Address: "h:1"}).(*fileservers.Result); r.Server.Ring != 1 {
		t.Fatalf("ring %d", r.Server.Ring)
	}
}

func TestDFSSnapshotRefusesBrokenSection(t *testing.T) {
	h := dfsHarness(t)
	populateDFS(h)
	data := persist(t, h.fsm)
	broken := strings.Replace(string(data), `"version":1`, `"version":0`, 1)
	if broken == string(data) {
		t.Fatal("no file version to break")
	}
	back := New(DefaultConfig())
	if err := restore(back, []byte(broken)); err == nil || !strings.Contains(err.Error(), filesSection) {
		t.Fatalf("restored a broken files section: %v", err)
	}
	if _, ok := back.File(fid(1)); ok {
		t.Fatal("a refused snapshot changed the state")
	}
}
