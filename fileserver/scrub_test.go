package fileserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	fileB = "1c8b3d55-7a4f-4d2b-8e3f-6a7b8c9d0e1f"
	fileC = "2d9c4e66-8b5a-4e3c-9f4a-7b8c9d0e1f2a"
	fileD = "3e0d5f77-9c6b-4f4d-8a5b-8c9d0e1f2a3b"
	fileE = "4f1e6a88-ad7c-4a5e-9b6c-9d0e1f2a3b4c"
)

// rewriteMeta changes a copy's .meta on disk.
func rewriteMeta(t *testing.T, dir, file string, version string, change func(*meta)) {
	t.Helper()
	p := filepath.Join(dir, "copies", file, version+".meta")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	change(&m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// flipByte flips one byte of a copy's data file at off.
func flipByte(t *testing.T, dir, file, version string, off int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "copies", file, version+".data"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// A scrub finds every kind of bad copy (a bad chunk, a SHA-256 the CRCs
// do not catch, a missing or truncated data file), marks each corrupt
// so it is never served, and leaves good copies alone; the next scrub
// does not re-read them.
func TestStoreScrub(t *testing.T) {
	s, dir := openStore(t)
	data := randomBytes(t, 3*ChunkSize+17)
	for _, f := range []string{fileA, fileB, fileC, fileD, fileE} {
		if _, err := s.Put(f, 1, 0, bytes.NewReader(data), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(fileA, 2, 0, strings.NewReader(""), ""); err != nil { // empty: good
		t.Fatal(err)
	}
	res, err := s.Scrub(context.Background(), -1, nil)
	if err != nil || res.Copies != 6 || res.Corrupt != 0 || res.Bytes != 5*int64(len(data)) || res.Errors != 0 {
		t.Fatalf("clean scrub: %+v, %v", res, err)
	}

	flipByte(t, dir, fileB, "1", 2*ChunkSize+5)                                           // a later chunk
	rewriteMeta(t, dir, fileC, "1", func(m *meta) { m.SHA256 = strings.Repeat("0", 64) }) // CRCs fine, SHA-256 not
	if err := os.Remove(filepath.Join(dir, "copies", fileD, "1.data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "copies", fileE, "1.data"), ChunkSize); err != nil {
		t.Fatal(err)
	}
	res, err = s.Scrub(context.Background(), -1, nil)
	if err != nil || res.Copies != 6 || res.Corrupt != 4 || res.AlreadyCorrupt != 0 || res.Errors != 0 {
		t.Fatalf("scrub: %+v, %v", res, err)
	}
	inv, err := s.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for _, c := range inv {
		if c.Corrupt {
			bad[c.File] = true
		}
	}
	if len(bad) != 4 || bad[fileA] {
		t.Fatalf("corrupt in the inventory: %v; want B, C, D, E", bad)
	}
	for _, f := range []string{fileB, fileC, fileD, fileE} {
		if _, _, err := s.Get(f, 1, 0); !errors.Is(err, ErrCorrupt) {
			t.Errorf("get %s after the scrub: %v, want ErrCorrupt", f, err)
		}
	}
	if got, err := readAll(t, s, fileA, 1, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("good copy: %d bytes, %v", len(got), err)
	}
	res, err = s.Scrub(context.Background(), -1, nil)
	if err != nil || res.Copies != 2 || res.Corrupt != 0 || res.AlreadyCorrupt != 4 {
		t.Fatalf("second scrub: %+v, %v", res, err)
	}
}

// A good copy replaced while it was being verified is not marked corrupt
// because of the new copy: Verify checks the bytes it opened.
func TestStoreVerifyReplacedMeanwhile(t *testing.T) {
	s, _ := openStore(t)
	a, b := randomBytes(t, 2*ChunkSize), randomBytes(t, ChunkSize+1)
	if _, err := s.Put(fileA, 1, 0, bytes.NewReader(a), ""); err != nil {
		t.Fatal(err)
	}
	replaced := false
	_, err := s.Verify(context.Background(), fileA, 1, func(context.Context, int) error {
		if !replaced {
			replaced = true
			if _, err := s.Put(fileA, 1, 0, bytes.NewReader(b), ""); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got, err := readAll(t, s, fileA, 1, 0); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("new copy: %d bytes, %v", len(got), err)
	}
}

// The rate bounds a scrub's reads; a scrub stops when its context ends.
func TestStoreScrubRate(t *testing.T) {
	s, _ := openStore(t)
	if _, err := s.Put(fileA, 1, 0, bytes.NewReader(randomBytes(t, 4*ChunkSize)), ""); err != nil {
		t.Fatal(err)
	}
	// 256 KiB at 1 MiB/s: a quarter of a second at least.
	res, err := s.Scrub(context.Background(), 1<<20, nil)
	if err != nil || res.Copies != 1 || res.Took < 200*time.Millisecond {
		t.Fatalf("paced scrub: %+v, %v; want ≥ 200ms", res, err)
	}
	// At 64 KiB/s it would take 4 s: the context ends it early.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err = s.Scrub(ctx, 64<<10, nil)
	if !errors.Is(err, context.DeadlineExceeded) || res.Copies != 0 || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled scrub: %+v, %v after %v", res, err, time.Since(start))
	}
	if _, _, err := s.Get(fileA, 1, 0); err != nil {
		t.Fatalf("a cancelled scrub marked the copy: %v", err)
	}
}

// A running server scrubs every ScrubInterval and on ScrubNow; a copy it
// finds bad is answered 500 corrupt and shows corrupt in the inventory.
func TestServerScrubs(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, "fs1", dir, nil)
	cfg.ScrubInterval = 50 * time.Millisecond
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	data := randomBytes(t, ChunkSize+1)
	c := &Client{}
	ctx := context.Background()
	if _, err := c.Put(ctx, s.Addr(), fileA, 1, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, s.Addr(), fileB, 1, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a scrub of both copies", 5*time.Second, func() bool { return s.ScrubStats().Last.Copies == 2 })
	flipByte(t, dir, fileB, "1", 3)
	waitFor(t, "the scrub to find the bad copy", 5*time.Second, func() bool { return s.ScrubStats().Corrupt == 1 })
	if _, _, err := c.Get(ctx, s.Addr(), fileB, 1, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("get of the bad copy: %v, want ErrCorrupt", err)
	}
	inv, err := c.Inventory(ctx, s.Addr())
	if err != nil || len(inv.Copies) != 2 || inv.Copies[0].Corrupt || !inv.Copies[1].Corrupt {
		t.Fatalf("inventory %+v, %v", inv, err)
	}
	res, err := s.ScrubNow(ctx)
	if err != nil || res.Copies != 1 || res.AlreadyCorrupt != 1 || res.Corrupt != 0 {
		t.Fatalf("scrub now: %+v, %v", res, err)
	}
	if st := s.ScrubStats(); st.Runs < 3 || st.Corrupt != 1 || st.Last != res {
		t.Fatalf("stats %+v", st)
	}
}

// ScrubInterval 0 disables the periodic scrub; ScrubNow still scrubs.
func TestServerScrubDisabled(t *testing.T) {
	cfg := testConfig(t, "fs1", t.TempDir(), nil)
	cfg.ScrubInterval = 0
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if st := s.ScrubStats(); st.Runs != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := s.ScrubNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.ScrubStats(); st.Runs != 1 {
		t.Fatalf("stats %+v", st)
	}
	bad := testConfig(t, "fs1", t.TempDir(), nil)
	bad.ScrubInterval = -time.Second
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "scrub interval") {
		t.Fatalf("negative interval: %v", err)
	}
}
