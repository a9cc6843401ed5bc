package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/keyring"
)

func TestAggregate(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	ts := []tally{
		{lat: ms(5, 1, 3), bytes: 3 * 4096},
		{lat: ms(2, 4), bytes: 2 * 4096, errors: 2, firstErr: "boom"},
		{errors: 1, firstErr: "later"},
	}
	r := aggregate("s", "write", 4096, 3, 2*time.Second, ts)
	if r.Ops != 5 || r.Errors != 3 || r.Bytes != 5*4096 {
		t.Fatalf("ops %d errors %d bytes %d, want 5, 3, %d", r.Ops, r.Errors, r.Bytes, 5*4096)
	}
	if r.P50 != 3*time.Millisecond || r.P99 != 5*time.Millisecond {
		t.Fatalf("p50 %s p99 %s, want 3ms 5ms", r.P50, r.P99)
	}
	if r.FirstError != "boom" {
		t.Fatalf("first error %q, want the first worker's with one", r.FirstError)
	}
	if got := r.PerSecond(); got != 2.5 {
		t.Fatalf("ops/s %v, want 2.5", got)
	}
	if got, want := r.MBPerSecond(), 5*4096/1e6/2; got != want {
		t.Fatalf("MB/s %v, want %v", got, want)
	}
	empty := aggregate("s", "read", 1, 1, 0, nil)
	if empty.Ops != 0 || empty.P50 != 0 || empty.PerSecond() != 0 || empty.MBPerSecond() != 0 {
		t.Fatalf("empty run: %+v", empty)
	}
}

func TestDFSTable(t *testing.T) {
	tab := DFSTable([]DFSResult{
		{Store: "seaweedfs", Op: "write", Size: 4096, Concurrency: 16, Ops: 1000, Bytes: 4096000, Duration: time.Second, P50: 1234567, P99: 5 * time.Millisecond},
		{Store: "custodes", Op: "read", Size: 64 << 20, Concurrency: 1, Ops: 3, Errors: 1, Bytes: 3 << 26, Duration: 2 * time.Second, FirstError: "read x: 500"},
	})
	for _, want := range []string{
		"| store | operation | size | concurrency | ops/s | MB/s |",
		"| seaweedfs | write | 4 KiB | 16 | 1000 | 4.1 | 1.23ms | 5ms | 1000 | 0 |",
		"| custodes | read | 64 MiB | 1 | 1.5 | 100.7 |",
		"- custodes read 64 MiB c=1: read x: 500",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "4KiB": 4096, "64MiB": 64 << 20, "64M": 64 << 20, "1 GiB": 1 << 30, "10B": 10} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "4x", "KiB", "1.5MiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
	for n, want := range map[int64]string{4096: "4 KiB", 64 << 20: "64 MiB", 1000: "1000 B", 1 << 30: "1 GiB"} {
		if got := SizeString(n); got != want {
			t.Errorf("SizeString(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPatternRoundTrip(t *testing.T) {
	// Longer than the block, so the wrap is exercised; read in odd pieces.
	size := int64(patternBlock + 12345)
	var buf bytes.Buffer
	n, err := io.CopyBuffer(&buf, NewPattern("a", size), make([]byte, 777))
	if err != nil || n != size {
		t.Fatalf("read %d, %v; want %d", n, err, size)
	}
	if bytes.Equal(buf.Bytes()[:4096], NewPatternBytes(t, "b", 4096)) {
		t.Fatal("two names gave the same bytes")
	}
	v := NewVerifier("a")
	if _, err := io.CopyBuffer(v, bytes.NewReader(buf.Bytes()), make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := v.Check(size); err != nil {
		t.Fatalf("the right bytes: %v", err)
	}
	if err := v.Check(size + 1); err == nil {
		t.Fatal("a short read passed")
	}
	b := buf.Bytes()
	b[70000] ^= 1
	v = NewVerifier("a")
	v.Write(b)
	if err := v.Check(size); err == nil || !strings.Contains(err.Error(), "offset 70000") {
		t.Fatalf("a flipped byte: %v", err)
	}
}

func NewPatternBytes(t *testing.T, name string, n int64) []byte {
	t.Helper()
	b, err := io.ReadAll(NewPattern(name, n))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCopyID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	id := CopyID("b-1")
	if !re.MatchString(id) || id != CopyID("b-1") || id == CopyID("b-2") {
		t.Fatalf("CopyID: %q", id)
	}
}

// fakeFiler is the part of a SeaweedFS filer the adapter uses: PUT a path
// (201), GET it back.
type fakeFiler struct {
	mu    sync.Mutex
	files map[string][]byte
	fsync int
}

func (f *fakeFiler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		if r.ContentLength < 0 || strings.HasPrefix(r.URL.Path, "/readonly/") {
			http.Error(w, "refused", http.StatusInsufficientStorage)
			return
		}
		b, _ := io.ReadAll(r.Body)
		f.files[r.URL.Path] = b
		if r.URL.Query().Get("fsync") == "true" {
			f.fsync++
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"name":"x","size":1}`)
	case http.MethodGet:
		b, ok := f.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

func TestSeaweedAdapterSmoke(t *testing.T) {
	ff := &fakeFiler{files: map[string][]byte{}}
	srv := httptest.NewServer(ff)
	defer srv.Close()
	c := DFSClient(4)
	for _, fsync := range []bool{false, true} {
		s := Seaweed{Filer: srv.URL, Dir: "/bench/t", Fsync: fsync}
		w, names := RunDFS(c, s, DFSRun{Op: "write", Size: 4096, Concurrency: 4, MaxOps: 40, MaxTime: 10 * time.Second, Prefix: "p"})
		if w.Ops != 40 || w.Errors != 0 || len(names) != 40 || w.Bytes != 40*4096 {
			t.Fatalf("fsync=%v write: %+v, %d names", fsync, w, len(names))
		}
		r, _ := RunDFS(c, s, DFSRun{Op: "read", Size: 4096, Concurrency: 4, MaxOps: 80, MaxTime: 10 * time.Second, Names: names})
		if r.Ops != 80 || r.Errors != 0 || r.Bytes != 80*4096 {
			t.Fatalf("fsync=%v read: %+v", fsync, r)
		}
	}
	if _, ok := ff.files["/bench/t/p-39"]; !ok || ff.fsync != 40 {
		t.Fatalf("files under %v, %d with fsync", len(ff.files), ff.fsync)
	}
	// A corrupted copy is an error, not a read.
	ff.mu.Lock()
	ff.files["/bench/t/p-0"][10] ^= 1
	ff.mu.Unlock()
	r, _ := RunDFS(c, Seaweed{Filer: srv.URL, Dir: "/bench/t"}, DFSRun{Op: "read", Size: 4096, MaxOps: 1, MaxTime: 5 * time.Second, Names: []string{"p-0"}})
	if r.Ops != 0 || r.Errors != 1 || !strings.Contains(r.FirstError, "wrong byte at offset 10") {
		t.Fatalf("corrupt read: %+v", r)
	}
	// A refused write is counted and explained.
	w, names := RunDFS(c, Seaweed{Filer: srv.URL, Dir: "readonly"}, DFSRun{Op: "write", Size: 1, MaxOps: 2, MaxTime: 5 * time.Second, Prefix: "q"})
	if w.Ops != 0 || w.Errors != 2 || len(names) != 0 || !strings.Contains(w.FirstError, "507") {
		t.Fatalf("refused write: %+v %v", w, names)
	}
	r, _ = RunDFS(c, Seaweed{Filer: srv.URL}, DFSRun{Op: "read", Size: 1, MaxOps: 2, MaxTime: 5 * time.Second, Names: []string{"missing"}})
	if r.Errors != 2 || !strings.Contains(r.FirstError, "404") {
		t.Fatalf("missing read: %+v", r)
	}
}

func TestRunDFSBounds(t *testing.T) {
	srv := httptest.NewServer(Sink{Dir: t.TempDir()})
	defer srv.Close()
	c := DFSClient(2)
	s := Plain{Label: "sink", Base: srv.URL}
	// The count bounds a run...
	w, names := RunDFS(c, s, DFSRun{Op: "write", Size: 3 << 20, Concurrency: 2, MaxOps: 3, MaxTime: time.Minute, Prefix: "big"})
	if w.Ops != 3 || w.Errors != 0 || len(names) != 3 {
		t.Fatalf("write: %+v %v", w, names)
	}
	r, _ := RunDFS(c, s, DFSRun{Op: "read", Size: 3 << 20, Concurrency: 1, MaxOps: 3, MaxTime: time.Minute, Names: names})
	if r.Ops != 3 || r.Errors != 0 || r.Bytes != 9<<20 {
		t.Fatalf("read: %+v", r)
	}
	// ...and so does time.
	t0 := time.Now()
	w, _ = RunDFS(c, s, DFSRun{Op: "write", Size: 10, Concurrency: 2, MaxTime: 200 * time.Millisecond, Prefix: "t"})
	if el := time.Since(t0); el > 5*time.Second || w.Ops == 0 {
		t.Fatalf("time-bound run took %s with %d ops", el, w.Ops)
	}
	// Nothing written, nothing to read.
	r, _ = RunDFS(c, s, DFSRun{Op: "read", Size: 10, MaxOps: 1, MaxTime: time.Second})
	if r.Ops != 0 || r.FirstError == "" {
		t.Fatalf("read of nothing: %+v", r)
	}
}

func TestSinkRejectsBadNames(t *testing.T) {
	srv := httptest.NewServer(Sink{Dir: t.TempDir()})
	defer srv.Close()
	for _, p := range []string{"/", "/..", "/a%2Fb", "/a b"} {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+p, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", p, resp.StatusCode)
		}
	}
}

func TestFileServerSigning(t *testing.T) {
	key, _ := keyring.Generate()
	keys, _ := keyring.Parse(key)
	s := FileServer{Base: "http://127.0.0.1:1", Signer: keyring.NewSigner(keys)}
	req, err := s.WriteRequest(context.Background(), "n", NewPattern("n", 10), 10)
	if !CanSignStreamed(s.Signer) {
		// Before the DFS's keyring: the baseline says why it cannot run.
		if !errors.Is(err, ErrNoStreamedSigning) {
			t.Fatalf("without SignStreamed: %v", err)
		}
	} else if err != nil || req.Header.Get(keyring.Header) == "" || !strings.Contains(req.URL.Path, "/v1/copies/"+CopyID("n")+"/1") {
		t.Fatalf("with SignStreamed: %v %v", err, req)
	}
	get, err := s.ReadRequest(context.Background(), "n")
	if err != nil || get.Header.Get(keyring.Header) == "" || get.URL.Path != "/v1/copies/"+CopyID("n")+"/1" {
		t.Fatalf("read request: %v %v", err, get)
	}
}
