package fileserver

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const fileA = "0b7a2c44-6f3e-4c1a-9d2e-5f6a7b8c9d0e"

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func readAll(t *testing.T, s *Store, file string, version uint64, offset int64) ([]byte, error) {
	t.Helper()
	r, _, err := s.Get(file, version, offset)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestStoreRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	for i, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17} {
		data := randomBytes(t, n)
		v := uint64(i + 1)
		info, err := s.Put(fileA, v, 0, bytes.NewReader(data), "")
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		sum := sha256.Sum256(data)
		if info.Size != int64(n) || info.SHA256 != hex.EncodeToString(sum[:]) || info.Version != v {
			t.Fatalf("%d bytes: info %+v", n, info)
		}
		got, err := readAll(t, s, fileA, v, 0)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read %d bytes, err %v", n, len(got), err)
		}
		// Every offset class: start, inside the first chunk, a chunk
		// boundary, inside a later chunk, the end.
		for _, off := range []int64{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 5, int64(n)} {
			if off > int64(n) {
				continue
			}
			got, err := readAll(t, s, fileA, v, off)
			if err != nil || !bytes.Equal(got, data[off:]) {
				t.Fatalf("%d bytes from %d: read %d bytes, err %v", n, off, len(got), err)
			}
		}
		if _, _, err := s.Get(fileA, v, int64(n)+1); err == nil {
			t.Fatalf("%d bytes: offset past the end accepted", n)
		}
	}
	inv, err := s.Inventory()
	if err != nil || len(inv) != 6 {
		t.Fatalf("inventory %v, %v", inv, err)
	}
}

func TestStoreSHAMismatchStoresNothing(t *testing.T) {
	s, _ := openStore(t)
	if _, err := s.Put(fileA, 1, 0, strings.NewReader("abc"), strings.Repeat("0", 64)); !errors.Is(err, ErrSHA256Mismatch) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Stat(fileA, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat after refused put: %v", err)
	}
}

func TestStoreStaleFenceAtStart(t *testing.T) {
	s, dir := openStore(t)
	if _, err := s.Put(fileA, 1, 0, strings.NewReader("v1"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(fileA, 2, 3, strings.NewReader("v2"), ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range []uint64{0, 2} {
		if _, err := s.Put(fileA, 3, f, strings.NewReader("v3"), ""); !errors.Is(err, ErrStaleFence) {
			t.Fatalf("fence %d: err = %v", f, err)
		}
	}
	if _, err := s.Put(fileA, 3, 3, strings.NewReader("v3"), ""); err != nil {
		t.Fatalf("equal fence refused: %v", err)
	}
	// The fence survives a restart.
	s2, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Put(fileA, 4, 2, strings.NewReader("v4"), ""); !errors.Is(err, ErrStaleFence) {
		t.Fatalf("after reopen: err = %v", err)
	}
}

// slowReader yields its first byte at once, then waits for release.
type slowReader struct {
	first   bool
	started chan struct{}
	release chan struct{}
	rest    io.Reader
}

func (r *slowReader) Read(p []byte) (int, error) {
	if !r.first {
		r.first = true
		close(r.started)
		p[0] = 'x'
		return 1, nil
	}
	<-r.release
	return r.rest.Read(p)
}

// A put that started with fence 1 fails at the rename once fence 2's put
// has completed meanwhile.
func TestStoreStaleFenceAtRename(t *testing.T) {
	s, _ := openStore(t)
	slow := &slowReader{started: make(chan struct{}), release: make(chan struct{}), rest: strings.NewReader("yz")}
	var wg sync.WaitGroup
	var slowErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, slowErr = s.Put(fileA, 2, 1, slow, "")
	}()
	select {
	case <-slow.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow put never started")
	}
	if _, err := s.Put(fileA, 2, 2, strings.NewReader("fence two"), ""); err != nil {
		t.Fatal(err)
	}
	close(slow.release)
	wg.Wait()
	if !errors.Is(slowErr, ErrStaleFence) {
		t.Fatalf("slow put: err = %v, want ErrStaleFence", slowErr)
	}
	got, err := readAll(t, s, fileA, 2, 0)
	if err != nil || string(got) != "fence two" {
		t.Fatalf("copy = %q, %v", got, err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	if len(ents) != 0 {
		t.Fatalf("tmp not cleaned after the refused put: %d entries", len(ents))
	}
}

// A corrupt byte in the second chunk: the first chunk is yielded, the
// second is not, and the copy is reported corrupt from then on.
func TestStoreCorruptChunk(t *testing.T) {
	s, dir := openStore(t)
	data := randomBytes(t, 3*ChunkSize)
	if _, err := s.Put(fileA, 1, 0, bytes.NewReader(data), ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "copies", fileA, "1.data")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{data[ChunkSize+10] ^ 0xff}, ChunkSize+10); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	r, _, err := s.Get(fileA, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			break
		}
	}
	_ = r.Close()
	if len(got) != ChunkSize || !bytes.Equal(got, data[:ChunkSize]) {
		t.Fatalf("yielded %d bytes before the error, want exactly the first chunk", len(got))
	}
	if _, _, err := s.Get(fileA, 1, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("second get: %v", err)
	}
	inv, _ := s.Inventory()
	if len(inv) != 1 || !inv[0].Corrupt {
		t.Fatalf("inventory %+v", inv)
	}
	// A truncated data file is corrupt too.
	if _, err := s.Put(fileA, 2, 0, bytes.NewReader(data), ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "copies", fileA, "2.data"), 100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(fileA, 2, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestStoreNamesNeverEscape(t *testing.T) {
	s, dir := openStore(t)
	for _, file := range []string{"../x", "..", "", "a/b", fileA + "/..", strings.ToUpper(fileA), "{" + fileA + "}", "urn:uuid:" + fileA} {
		if _, err := s.Put(file, 1, 0, strings.NewReader("x"), ""); !errors.Is(err, ErrBadID) {
			t.Errorf("put %q: err = %v", file, err)
		}
		if _, _, err := s.Get(file, 1, 0); !errors.Is(err, ErrBadID) {
			t.Errorf("get %q: err = %v", file, err)
		}
		if err := s.Delete(file, 1); !errors.Is(err, ErrBadID) {
			t.Errorf("delete %q: err = %v", file, err)
		}
		if err := s.DeleteAll(file); !errors.Is(err, ErrBadID) {
			t.Errorf("delete all %q: err = %v", file, err)
		}
	}
	if _, err := s.Put(fileA, 0, 0, strings.NewReader("x"), ""); !errors.Is(err, ErrBadID) {
		t.Errorf("version 0: %v", err)
	}
	for _, v := range []string{"0", "-1", "+1", "1.0", "x", "18446744073709551616", ""} {
		if _, err := ParseVersion(v); !errors.Is(err, ErrBadID) {
			t.Errorf("version %q accepted", v)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "copies" && e.Name() != "tmp" {
			t.Errorf("unexpected entry %s in the data dir", e.Name())
		}
	}
	ents, _ = os.ReadDir(filepath.Join(dir, "copies"))
	if len(ents) != 0 {
		t.Errorf("copies has %d entries", len(ents))
	}
}

func TestStoreDeleteAndTmpCleanup(t *testing.T) {
	s, dir := openStore(t)
	for v := uint64(1); v <= 3; v++ {
		if _, err := s.Put(fileA, v, v, strings.NewReader("x"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(fileA, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(fileA, 2); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.Stat(fileA, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat deleted: %v", err)
	}
	if inv, _ := s.Inventory(); len(inv) != 2 {
		t.Fatalf("inventory %+v", inv)
	}
	if err := s.DeleteAll(fileA); err != nil {
		t.Fatal(err)
	}
	if inv, _ := s.Inventory(); len(inv) != 0 {
		t.Fatalf("inventory after delete all %+v", inv)
	}
	// Fences outlive the copies.
	if _, err := s.Put(fileA, 4, 2, strings.NewReader("x"), ""); !errors.Is(err, ErrStaleFence) {
		t.Fatalf("fence after delete all: %v", err)
	}
	// Leftovers in tmp are removed at start.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "put-123.data"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp has %d entries after start", len(ents))
	}
}

// The inventory carries each copy's mtime, so the leader can tell an
// orphan from a write in flight; a put's answer does not.
func TestStoreInventoryModified(t *testing.T) {
	s, dir := openStore(t)
	info, err := s.Put(fileA, 1, 0, strings.NewReader("abc"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Modified.IsZero() {
		t.Fatalf("put answered modified %v", info.Modified)
	}
	then := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "copies", fileA, "1.data"), then, then); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Inventory()
	if err != nil || len(inv) != 1 || !inv[0].Modified.Equal(then) || inv[0].Modified.Location() != time.UTC {
		t.Fatalf("inventory %+v, %v; want modified %v", inv, err, then)
	}
	b, err := json.Marshal(inv[0])
	if err != nil || !strings.Contains(string(b), `"modified":"2024-05-06T07:08:09Z"`) {
		t.Fatalf("json %s, %v", b, err)
	}
	if b, _ := json.Marshal(info); strings.Contains(string(b), "modified") {
		t.Fatalf("put's answer %s carries modified", b)
	}
}
