package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeAPI answers a few routes as the agent's API does, and records what
// it was sent.
type fakeAPI struct {
	mu       sync.Mutex
	auth     []string
	snapshot []byte // what GET /admin/snapshot serves and PUT stores
	file     []byte // what GET /read serves
	etag     string // its ETag (a wrong one to test the check)
	// refusals are 503 messages PUT /admin/snapshot answers first, in order.
	refusals []string
	puts     int
}

func (f *fakeAPI) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	mux.HandleFunc("GET /admin/members", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		_, _ = io.WriteString(w, `{"members":[{"name":"n1","role":"registry","state":"alive","http":"h:1","raft":"h:2","gossip":"h:3"}]}`)
	})
	mux.HandleFunc("GET /service/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("name") {
		case "down":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"every instance of service \"down\" is critical","name":"down","instances":[{"id":"i1","address":"h:1","status":"critical"}],"index":3}`)
		case "noleader":
			fail(w, http.StatusServiceUnavailable, "no leader")
		default:
			fail(w, http.StatusNotFound, `not found: service "`+r.PathValue("name")+`" has no instances`)
		}
	})
	mux.HandleFunc("GET /admin/snapshot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Custodes-Index", "42")
		f.mu.Lock()
		defer f.mu.Unlock()
		_, _ = w.Write(f.snapshot)
	})
	mux.HandleFunc("PUT /admin/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/octet-stream" {
			fail(w, http.StatusUnsupportedMediaType, "not an archive")
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		f.mu.Lock()
		f.puts++
		var refusal string
		if len(f.refusals) > 0 {
			refusal, f.refusals = f.refusals[0], f.refusals[1:]
		}
		f.mu.Unlock()
		if refusal != "" {
			fail(w, http.StatusServiceUnavailable, refusal)
			return
		}
		if !bytes.HasPrefix(b, []byte("SNAP")) {
			fail(w, http.StatusBadRequest, "the body is not a snapshot archive")
			return
		}
		f.mu.Lock()
		f.snapshot = b
		f.mu.Unlock()
		_, _ = io.WriteString(w, `{"index":50,"snapshot_index":42}`)
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+f.etag+`"`)
		w.Header().Set("X-Custodes-Version", "3")
		_, _ = w.Write(f.file)
	})
	return mux
}

// run runs the CLI against srv with env, returning the exit code and both
// streams.
func run(t *testing.T, srv *httptest.Server, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{EnvToken: "tok"}
	if srv != nil {
		env[EnvHTTPAddr] = srv.URL
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := Run(ctx, args, env, stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	api := &fakeAPI{}
	srv := httptest.NewServer(api.handler(t))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", srv, nil, ExitUsage, "", "no command"},
		{"unknown command", srv, []string{"nope"}, ExitUsage, "", `unknown command "nope"`},
		{"unknown flag", srv, []string{"members", "-bogus"}, ExitUsage, "", "flag provided but not defined: -bogus"},
		{"extra argument", srv, []string{"members", "x"}, ExitUsage, "", `unexpected arguments ["x"]`},
		{"missing argument", srv, []string{"deregister"}, ExitUsage, "", "missing arguments"},
		{"unknown files command", srv, []string{"files", "cp"}, ExitUsage, "", `unknown command "cp"`},
		{"files without command", srv, []string{"files"}, ExitUsage, "", "which one?"},
		{"bad share mode", srv, []string{"files", "share", "a", "bob", "all"}, ExitUsage, "", `mode "all"`},
		{"users create without role", srv, []string{"users", "create", "ci"}, ExitUsage, "", "--role"},
		{"unlock without token", srv, []string{"files", "unlock", "a"}, ExitUsage, "", "--lock-token is required"},
		{"put from stdin without name", srv, []string{"files", "put", "-"}, ExitUsage, "", "NAME is needed"},
		{"bad address", srv, []string{"members", "--http", "ftp://x:1"}, ExitUsage, "", "give host:port"},
		{"lone client cert", srv, []string{"members", "--tls-cert", "c.pem"}, ExitUsage, "", "together"},
		{"help", srv, []string{"members", "-h"}, ExitOK, "", "Usage: custodes members"},
		{"files help", srv, []string{"files", "help"}, ExitOK, "custodes files put", ""},
		{"ok", srv, []string{"members"}, ExitOK, "n1    registry  alive", ""},
		{"ok json", srv, []string{"members", "-json"}, ExitOK, `"members": [`, ""},
		{"api error", srv, []string{"services", "web"}, ExitError, "", `custodes: 404 not found: service "web" has no instances`},
		{"all critical is an answer", srv, []string{"services", "down"}, ExitOK, "i1  h:1", ""},
		{"no leader is an error", srv, []string{"services", "noleader"}, ExitError, "", "custodes: 503 no leader"},
		{"no route", srv, []string{"dfs"}, ExitError, "", "custodes: 404 404 page not found"},
		{"unreachable", closed, []string{"members"}, ExitError, "", "custodes: Get " + closed.URL + "/admin/members"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.srv, nil, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("custodes %q: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					tc.args, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
	if got := api.auth; len(got) == 0 || got[0] != "Bearer tok" {
		t.Errorf("the token sent was %q, want Bearer tok from %s", got, EnvToken)
	}
}

func TestSnapshotSaveAndRestore(t *testing.T) {
	archive := make([]byte, 3<<20)
	if _, err := rand.Read(archive); err != nil {
		t.Fatal(err)
	}
	copy(archive, "SNAP")
	api := &fakeAPI{snapshot: archive}
	srv := httptest.NewServer(api.handler(t))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "state.snap")

	code, stdout, stderr := run(t, srv, nil, "snapshot", "save", file)
	if code != ExitOK || !strings.Contains(stdout, "index 42") {
		t.Fatalf("save: exit %d, %q, %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(got, archive) {
		t.Fatalf("the saved file differs from the archive served (%d bytes, %v)", len(got), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*part*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	api.snapshot = nil
	code, stdout, stderr = run(t, srv, nil, "snapshot", "restore", file)
	if code != ExitOK || !strings.Contains(stdout, "the state of index 42, now at index 50") {
		t.Fatalf("restore: exit %d, %q, %q", code, stdout, stderr)
	}
	if !bytes.Equal(api.snapshot, archive) {
		t.Fatalf("the agent received %d bytes, not the %d of the file", len(api.snapshot), len(archive))
	}

	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("not an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, srv, nil, "snapshot", "restore", bad)
	if code != ExitError || !strings.Contains(stderr, "custodes: 400 the body is not a snapshot archive") {
		t.Fatalf("restore of a bad file: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, srv, nil, "snapshot", "restore", filepath.Join(dir, "missing"))
	if code != ExitError || !strings.Contains(stderr, "no such file") {
		t.Fatalf("restore of a missing file: exit %d, %q", code, stderr)
	}

	// From stdin, to stdout.
	api.snapshot = nil
	code, _, stderr = run(t, srv, bytes.NewReader(archive), "snapshot", "restore", "-")
	if code != ExitOK || !bytes.Equal(api.snapshot, archive) {
		t.Fatalf("restore from stdin: exit %d, %q, %d bytes received", code, stderr, len(api.snapshot))
	}
	code, stdout, stderr = run(t, srv, nil, "snapshot", "save", "-")
	if code != ExitOK || stdout != string(archive) || !strings.Contains(stderr, "index 42") {
		t.Fatalf("save to stdout: exit %d, %d bytes, %q", code, len(stdout), stderr)
	}
}

func TestGetChecksTheSHA256(t *testing.T) {
	api := &fakeAPI{file: []byte("the right bytes"), etag: "0000"}
	srv := httptest.NewServer(api.handler(t))
	defer srv.Close()
	dir := t.TempDir()
	local := filepath.Join(dir, "out")
	if err := os.WriteFile(local, []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, srv, nil, "files", "get", "x", local)
	if code != ExitError || !strings.Contains(stderr, "SHA-256") {
		t.Fatalf("a wrong checksum: exit %d, %q", code, stderr)
	}
	if b, _ := os.ReadFile(local); string(b) != "before" {
		t.Fatalf("the local file was replaced by a transfer that failed its check: %q", b)
	}
	if code, _, stderr := run(t, srv, nil, "files", "get", "x", "-"); code != ExitError || !strings.Contains(stderr, "discard them") {
		t.Fatalf("a wrong checksum on stdout: exit %d, %q", code, stderr)
	}
	h := sha256.Sum256(api.file)
	sum := hex.EncodeToString(h[:])
	api.etag = sum
	code, stdout, stderr := run(t, srv, nil, "files", "get", "x", local, "-json")
	if code != ExitOK {
		t.Fatalf("get: exit %d, %q", code, stderr)
	}
	var ans map[string]any
	if err := json.Unmarshal([]byte(stdout), &ans); err != nil || ans["sha256"] != sum || ans["version"] != float64(3) {
		t.Fatalf("get -json printed %q (%v)", stdout, err)
	}
	if b, _ := os.ReadFile(local); string(b) != "the right bytes" {
		t.Fatalf("local file holds %q", b)
	}
	if code, _, stderr := run(t, srv, nil, "files", "get", "docs/x.txt", dir); code != ExitOK {
		t.Fatalf("get into a directory: exit %d, %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "x.txt")); string(b) != "the right bytes" {
		t.Fatalf("get into a directory wrote %q to DIR/x.txt", b)
	}
}

func TestSSEReader(t *testing.T) {
	stream := ": keep-alive\n\n" +
		"event: registered\ndata: {\"index\":5,\"type\":\"registered\"}\n\n" +
		"id: 6\nevent: removed\ndata: {\"index\":6}\r\n\r\n" +
		"data: a\ndata: b\nretry: 10\n\n" +
		"event: cut"
	r := &sseReader{r: bufio.NewReader(strings.NewReader(stream))}
	want := []sseEvent{
		{event: "registered", data: `{"index":5,"type":"registered"}`},
		{id: "6", event: "removed", data: `{"index":6}`},
		{data: "a\nb"},
	}
	for i, w := range want {
		ev, err := r.next()
		if err != nil || ev != w {
			t.Fatalf("event %d = %+v, %v; want %+v", i, ev, err, w)
		}
	}
	if _, err := r.next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("a cut stream ends with %v, want unexpected EOF", err)
	}
}

func TestEventLine(t *testing.T) {
	for _, tc := range []struct {
		ev   sseEvent
		want string
	}{
		{sseEvent{event: "registered", data: `{"index":7,"type":"registered","instance":{"id":"i1","name":"web","address":"h:80","status":"passing"}}`},
			"7        registered   web i1 h:80 passing"},
		{sseEvent{event: "membership", data: `{"index":1,"type":"membership","servers":[{"id":"n1","suffrage":"Voter"},{"id":"n2","suffrage":"Nonvoter"}]}`},
			"1        membership   n1 (voter), n2 (nonvoter)"},
		{sseEvent{event: "file-server", data: `{"index":4,"type":"file-server","file_server":{"id":"fs1","address":"h:9","state":"dead"}}`},
			"4        file-server  fs1 h:9 dead"},
		{sseEvent{event: "file", data: `{"index":9,"type":"file","change":"created"}`}, "9        file         created"},
		{sseEvent{event: "reset", data: `{"index":12}`}, "12       reset        the agent no longer keeps the events asked for: re-read the state"},
		{sseEvent{event: "odd", data: `not json`}, "-        odd          not json"},
	} {
		if got := eventLine(tc.ev); got != tc.want {
			t.Errorf("eventLine(%s) = %q, want %q", tc.ev.data, got, tc.want)
		}
	}
}

func TestWatchDiff(t *testing.T) {
	a := instanceView{ID: "a", Status: "passing", ModifyIndex: 1}
	b := instanceView{ID: "b", Status: "passing", ModifyIndex: 2}
	first := watchDiff(nil, []instanceView{a, b}, true)
	if len(first) != 2 || first[0].what != "present" || first[1].what != "present" {
		t.Fatalf("first answer: %+v", first)
	}
	prev := map[string]instanceView{"a": a, "b": b}
	a2 := a
	a2.Status = "critical"
	b2 := b
	b2.ModifyIndex = 5
	c := instanceView{ID: "c", Status: "passing"}
	got := watchDiff(prev, []instanceView{a2, b2, c}, false)
	var whats []string
	for _, l := range got {
		whats = append(whats, l.in.ID+":"+l.what)
	}
	if strings.Join(whats, " ") != "a:critical b:changed c:registered" {
		t.Fatalf("diff = %v", whats)
	}
	got = watchDiff(prev, nil, false)
	if len(got) != 2 || got[0].what != "removed" || got[0].in.ID != "a" || got[1].in.ID != "b" {
		t.Fatalf("removals = %+v", got)
	}
	if got := watchDiff(prev, []instanceView{a, b}, false); len(got) != 0 {
		t.Fatalf("no change reported as %+v", got)
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	inv := &invocation{stderr: &bytes.Buffer{}, tty: isTerminal(&bytes.Buffer{})}
	if p := inv.newProgress("x", 10<<20); p != nil {
		t.Fatal("a progress bar on a buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a regular file taken for a terminal")
	}
	var p *progress // nil: every method is a no-op
	p.add(5)
	p.finish()
	if r := p.reader(strings.NewReader("x")); r == nil {
		t.Fatal("nil reader")
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(100, 0)
	small := &progress{w: &b, label: "small", total: 100 << 10, start: now, now: func() time.Time { return now }}
	small.add(100 << 10)
	small.finish()
	if b.Len() != 0 {
		t.Fatalf("a bar for a small transfer: %q", b.String())
	}
	p := &progress{w: &b, label: "big.bin", total: 4 << 20, start: now.Add(-2 * time.Second), now: func() time.Time { return now }}
	p.add(2 << 20)
	if got := p.line(now); got != "big.bin [============>           ]  50%  2.0 MiB / 4.0 MiB  1.0 MiB/s" {
		t.Fatalf("line = %q", got)
	}
	p.finish()
	if !strings.HasPrefix(b.String(), "\rbig.bin [") || !strings.HasSuffix(b.String(), "\n") {
		t.Fatalf("drawn %q", b.String())
	}
	u := &progress{w: &b, label: "stdin", total: -1, start: now.Add(-time.Second), now: func() time.Time { return now }}
	u.add(3 << 20)
	if got := u.line(now); got != "stdin  3.0 MiB  3.0 MiB/s" {
		t.Fatalf("unknown total: %q", got)
	}
}

func TestReadsAreTriedAgainThroughAnElection(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Method]++
		n := calls[r.Method]
		mu.Unlock()
		if n == 1 || r.Method != http.MethodGet {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"no cluster leader"}`)
			return
		}
		_, _ = io.WriteString(w, `{"members":[]}`)
	}))
	defer srv.Close()
	if code, _, stderr := run(t, srv, nil, "members"); code != ExitOK || calls["GET"] != 2 {
		t.Fatalf("a read after one 503: exit %d (%q), %d calls", code, stderr, calls["GET"])
	}
	code, _, stderr := run(t, srv, nil, "deregister", "x")
	if code != ExitError || calls["DELETE"] != 1 || !strings.Contains(stderr, "custodes: 503 no cluster leader") {
		t.Fatalf("a write's 503: exit %d (%q), %d calls; want one call, exit 1", code, stderr, calls["DELETE"])
	}
}

func TestRestoreIsSentAgainWhenItsOutcomeIsUnknown(t *testing.T) {
	archive := []byte("SNAP and the state")
	api := &fakeAPI{refusals: []string{"leadership lost while committing; the outcome is unknown"}}
	srv := httptest.NewServer(api.handler(t))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, srv, nil, "snapshot", "restore", file)
	if code != ExitOK || api.puts != 2 || !bytes.Equal(api.snapshot, archive) || !strings.Contains(stderr, "sending it again") {
		t.Fatalf("exit %d after %d puts (%q); want the archive restored on the second", code, api.puts, stderr)
	}

	api.puts, api.refusals = 0, []string{"not leader: without a cluster key (--encrypt) a restore is not forwarded; send it to the leader, n1 at h:1"}
	code, _, stderr = run(t, srv, nil, "snapshot", "restore", file)
	if code != ExitError || api.puts != 1 || !strings.Contains(stderr, "send it to the leader, n1 at h:1") {
		t.Fatalf("exit %d after %d puts (%q); want one, and the agent's message", code, api.puts, stderr)
	}

	api.puts, api.refusals = 0, []string{"no cluster leader", "no cluster leader", "no cluster leader"}
	if code, _, _ = run(t, srv, nil, "snapshot", "restore", file); code != ExitError || api.puts != restoreTries {
		t.Fatalf("exit %d after %d puts; want %d tries, then exit 1", code, api.puts, restoreTries)
	}

	api.puts, api.refusals = 0, []string{"no cluster leader"}
	if code, _, _ = run(t, srv, bytes.NewReader(archive), "snapshot", "restore", "-"); code != ExitError || api.puts != 1 {
		t.Fatalf("stdin: exit %d after %d puts; stdin cannot be sent twice", code, api.puts)
	}
}
