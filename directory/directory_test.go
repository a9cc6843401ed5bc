package directory

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestDirectory(t *testing.T, servers ...string) (*Directory, *fakeCluster, *fakeCopies) {
	t.Helper()
	c := newFakeCluster(t, servers...)
	fc := newFakeCopies()
	cfg := DefaultConfig()
	cfg.MaxFileSize = 1 << 20
	cfg.OldVersionGrace = 0
	d, err := New(c, fc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, c, fc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWritePlacesOnTheLeastLoadedAndItsSuccessorAndReadsBack(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2", "fs3")
	ctx := context.Background()
	body := randomBytes(t, 300_000)
	w, err := d.Write(ctx, "alice", "a/b.bin", bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.File.Replicas, []string{"fs1", "fs2"}) || w.File.Size != int64(len(body)) || w.File.SHA256 != sha(body) {
		t.Fatalf("file %+v", w.File)
	}
	for _, s := range w.File.Replicas {
		if !fc.has(s+":1", w.File.ID, 1) {
			t.Fatalf("no copy on %s", s)
		}
	}
	w2, err := d.Write(ctx, "alice", "c", bytes.NewReader([]byte("x")), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w2.File.Replicas, []string{"fs3", "fs1"}) {
		t.Fatalf("second file on %v, want the least loaded (fs3) and its ring successor (fs1)", w2.File.Replicas)
	}
	var out bytes.Buffer
	f, err := d.Open(ctx, "alice", "", "a/b.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(ctx, f, 0, f.Size, &out); err != nil || !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("read back %d bytes, err %v", out.Len(), err)
	}
	if _, err := d.Write(ctx, "alice", "c", bytes.NewReader([]byte("x")), 1); !errors.Is(err, fsm.ErrFileExists) {
		t.Fatalf("second write of a name: %v", err)
	}
}

func TestAReplicaThatBreaksOffIsLeftOutAndTheWriteCommitsOnTheOthers(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2", "fs3")
	fc.failAfter["fs1:1"] = 1000
	body := randomBytes(t, 600_000)
	w, err := d.Write(context.Background(), "alice", "x", bytes.NewReader(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.File.Replicas, []string{"fs2"}) || w.File.Want != 2 {
		t.Fatalf("replicas %v want %d", w.File.Replicas, w.File.Want)
	}
	if got := d.cluster.FSM().DFSSummary().UnderReplicated; got != 1 {
		t.Fatalf("under-replicated %d, want 1", got)
	}
}

func TestNothingIsCommittedWhenNoReplicaStoresTheFileOrItIsTooLarge(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2")
	fc.down["fs1:1"], fc.down["fs2:1"] = true, true
	if _, err := d.Write(context.Background(), "alice", "x", bytes.NewReader([]byte("abc")), 3); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("all replicas down: %v", err)
	}
	fc.down["fs1:1"], fc.down["fs2:1"] = false, false
	big := randomBytes(t, 1<<20+1)
	if _, err := d.Write(context.Background(), "alice", "big", bytes.NewReader(big), -1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large, length unknown: %v", err)
	}
	if _, err := d.Write(context.Background(), "alice", "big", bytes.NewReader(big), int64(len(big))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large, length declared: %v", err)
	}
	if n := d.cluster.FSM().DFSSummary().Files; n != 0 {
		t.Fatalf("%d files committed", n)
	}
	waitFor(t, "the partial copies to be removed", func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return len(fc.data) == 0
	})
}

func TestAReadFailsOverMidStreamAndResumesWhereItStopped(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2", "fs3")
	ctx := context.Background()
	body := randomBytes(t, 100_000)
	w, err := d.Write(ctx, "alice", "r", bytes.NewReader(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	primary := w.File.Replicas[0] + ":1"
	for _, tt := range []struct {
		name          string
		down          bool
		failAfter     int64
		offset, count int64
	}{
		{"primary refuses", true, 0, 0, 100_000},
		{"primary breaks off mid-stream", false, 12_345, 0, 100_000},
		{"a range across the break", false, 500, 1000, 20_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fc.mu.Lock()
			fc.down[primary], fc.failAfter[primary] = tt.down, tt.failAfter
			fc.mu.Unlock()
			var out bytes.Buffer
			n, err := d.Read(ctx, w.File, tt.offset, tt.count, &out)
			if err != nil || n != tt.count || !bytes.Equal(out.Bytes(), body[tt.offset:tt.offset+tt.count]) {
				t.Fatalf("read %d bytes (err %v), want %d exact", n, err, tt.count)
			}
		})
	}
	fc.mu.Lock()
	for _, s := range w.File.Replicas {
		fc.down[s+":1"] = true
	}
	fc.mu.Unlock()
	var out bytes.Buffer
	if n, err := d.Read(ctx, w.File, 0, w.File.Size, &out); !errors.Is(err, ErrNoLiveCopy) || n != 0 {
		t.Fatalf("every replica down: %d bytes, %v", n, err)
	}
}

func TestUpdateNeedsTheLockAndReplacesTheVersion(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2", "fs3")
	ctx := context.Background()
	w, err := d.Write(ctx, "alice", "doc", bytes.NewReader([]byte("one")), 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Update(ctx, "alice", "", "doc", fsm.HashToken("made-up"), bytes.NewReader([]byte("two")), 3); !errors.Is(err, fsm.ErrLockNotHeld) {
		t.Fatalf("update without the lock: %v", err)
	}
	g, err := d.Lock(ctx, "alice", "", "doc", fsm.HashToken("token-1"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lock(ctx, "alice", "", "doc", fsm.HashToken("token-2"), 30*time.Second); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	u, err := d.Update(ctx, "alice", "", "doc", fsm.HashToken("token-1"), bytes.NewReader([]byte("two!")), 4)
	if err != nil {
		t.Fatal(err)
	}
	if u.File.Version != 2 || u.File.SHA256 != sha([]byte("two!")) {
		t.Fatalf("updated %+v", u.File)
	}
	waitFor(t, "the old version's copies to go", func() bool {
		return !fc.has(w.File.Replicas[0]+":1", w.File.ID, 1) && !fc.has(w.File.Replicas[1]+":1", w.File.ID, 1)
	})
	var out bytes.Buffer
	if _, err := d.Read(ctx, u.File, 0, u.File.Size, &out); err != nil || out.String() != "two!" {
		t.Fatalf("read %q, %v", out.String(), err)
	}
	if _, err := d.Unlock(ctx, "alice", "", "doc", fsm.HashToken("made-up")); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("unlock with another token: %v", err)
	}
	if _, err := d.Unlock(ctx, "alice", "", "doc", fsm.HashToken("token-1")); err != nil {
		t.Fatal(err)
	}
	g2, err := d.Lock(ctx, "alice", "", "doc", fsm.HashToken("token-3"), time.Second)
	if err != nil || g2.Fence <= g.Fence {
		t.Fatalf("relock: fence %d after %d, %v", g2.Fence, g.Fence, err)
	}
}

func TestSharingAndExistenceThatDoesNotLeak(t *testing.T) {
	d, _, _ := newTestDirectory(t, "fs1", "fs2")
	ctx := context.Background()
	if _, err := d.Write(ctx, "alice", "s", bytes.NewReader([]byte("shared")), 6); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "bob", "alice", "s"); !errors.Is(err, fsm.ErrFileNotFound) {
		t.Fatalf("unshared: %v", err)
	}
	if _, err := d.Open(ctx, "bob", "alice", "nothing"); !errors.Is(err, fsm.ErrFileNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := d.Share(ctx, "alice", "s", "bob", "read"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "bob", "alice", "s"); err != nil {
		t.Fatalf("shared read: %v", err)
	}
	if _, err := d.Lock(ctx, "bob", "alice", "s", fsm.HashToken("token-b"), time.Second); !errors.Is(err, fsm.ErrNotOwner) {
		t.Fatalf("read-only share locks: %v", err)
	}
	if _, err := d.Share(ctx, "alice", "s", "nobody", "read"); !errors.Is(err, fsm.ErrUserNotFound) {
		t.Fatalf("share with an unknown user: %v", err)
	}
	list, _ := d.List(ctx, "bob")
	if len(list) != 1 || list[0].Access != AccessRead {
		t.Fatalf("bob's list %+v", list)
	}
	if _, err := d.Share(ctx, "alice", "s", "bob", "none"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "bob", "alice", "s"); !errors.Is(err, fsm.ErrFileNotFound) {
		t.Fatalf("revoked: %v", err)
	}
}

func TestConcurrentPlacementsSpread(t *testing.T) {
	d, c, _ := newTestDirectory(t, "fs1", "fs2", "fs3")
	ctx := context.Background()
	// Placements handed out and not yet committed count, so that writes
	// in flight together do not all pick the same server.
	var firsts []string
	for i := 0; i < 3; i++ {
		p, err := d.place(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		firsts = append(firsts, p.Replicas[0].ID)
	}
	slices.Sort(firsts)
	if !slices.Equal(firsts, []string{"fs1", "fs2", "fs3"}) {
		t.Fatalf("three placements in flight: primaries %v", firsts)
	}
	c.dead["fs2"] = true
	p, err := d.place(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Replicas {
		if r.ID == "fs2" {
			t.Fatalf("placed on a server gossip reports dead: %v", p.Replicas)
		}
	}
	for i := 0; i < 30; i++ {
		if _, err := d.Write(ctx, "alice", fmt.Sprintf("f%d", i), bytes.NewReader([]byte("x")), 1); err != nil {
			t.Fatal(err)
		}
	}
}

func TestACopyThatIsNotTheIndexsIsNeverServed(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2")
	ctx := context.Background()
	body := randomBytes(t, 5000)
	w, err := d.Write(ctx, "alice", "x", bytes.NewReader(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	// The primary's copy is overwritten by bytes the index never
	// committed (a fenced-off writer's): the read comes from the backup.
	primary := w.File.Replicas[0] + ":1"
	fc.mu.Lock()
	fc.data[key(primary, w.File.ID, 1)] = []byte("not the committed bytes")
	fc.mu.Unlock()
	var out bytes.Buffer
	if _, err := d.Read(ctx, w.File, 0, w.File.Size, &out); err != nil || !bytes.Equal(out.Bytes(), body) {
		t.Fatalf("read %d bytes, err %v", out.Len(), err)
	}
}

func TestAnUpdateFencedOffAtTheStorageIsLockNotHeld(t *testing.T) {
	d, _, fc := newTestDirectory(t, "fs1", "fs2")
	ctx := context.Background()
	w, err := d.Write(ctx, "alice", "f", bytes.NewReader([]byte("one")), 3)
	if err != nil {
		t.Fatal(err)
	}
	g, err := d.Lock(ctx, "alice", "", "f", fsm.HashToken("token-f"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Both servers have seen a higher fence (a later holder's write).
	fc.mu.Lock()
	for _, s := range w.File.Replicas {
		fc.fences[s+":1/"+w.File.ID] = g.Fence + 1
	}
	fc.mu.Unlock()
	if _, err := d.Update(ctx, "alice", "", "f", fsm.HashToken("token-f"), bytes.NewReader([]byte("two")), 3); !errors.Is(err, fsm.ErrLockNotHeld) {
		t.Fatalf("fenced-off update: %v", err)
	}
}
