package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/custodes/custodes/keyring"
)

// fakeDrainAgent answers POST /admin/dfs/drain and GET /admin/dfs as an
// agent would, checking the cluster key's signature on both: the server
// drained is draining for `polls` reads of /admin/dfs (its files and the
// queue going down), then left.
type fakeDrainAgent struct {
	*httptest.Server
	mu       sync.Mutex
	drained  []string
	polls    int // reads of /admin/dfs while draining, before left (-1: never left)
	reads    int
	drainErr int // status to answer the drain with, if not 0
	failGets int // reads of /admin/dfs to answer 503 first
	tokens   []string
}

func newFakeDrainAgent(t *testing.T, keys [][]byte, polls int) *fakeDrainAgent {
	f := &fakeDrainAgent{polls: polls}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/dfs/drain", func(w http.ResponseWriter, r *http.Request) {
		var req drainRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokens = append(f.tokens, r.Header.Get("Authorization"))
		if f.drainErr != 0 {
			http.Error(w, `{"error":"no"}`, f.drainErr)
			return
		}
		f.drained = append(f.drained, req.Server)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"server":%q,"state":"draining"}`, req.Server)
	})
	mux.HandleFunc("GET /admin/dfs", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokens = append(f.tokens, r.Header.Get("Authorization"))
		if f.failGets > 0 {
			f.failGets--
			http.Error(w, "no leader", http.StatusServiceUnavailable)
			return
		}
		state, files, queue := "alive", 5, 0
		if len(f.drained) > 0 {
			state, files, queue = "draining", max(5-f.reads, 0), max(5-f.reads, 0)
			if f.polls >= 0 && f.reads >= f.polls {
				state, files, queue = "left", 0, 0
			}
			f.reads++
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"servers":[{"id":"fs0","state":"alive","files":9},{"id":"fs1","state":%q,"files":%d}],"files":9,"under_replicated":99,"replication_queue":%d}`, state, files, queue)
	})
	v := keyring.NewVerifier(keys, keyring.VerifierConfig{})
	f.Server = httptest.NewUnstartedServer(v.Middleware(mux))
	t.Cleanup(f.Close)
	return f
}

// start serves f, over TLS if asked, and returns its host:port.
func (f *fakeDrainAgent) start(tls bool) string {
	if tls {
		f.StartTLS()
	} else {
		f.Start()
	}
	return f.Listener.Addr().String()
}

func testKey(t *testing.T) (string, [][]byte) {
	t.Helper()
	k, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, keys
}

func TestFileserverLeaveDrainsUntilLeft(t *testing.T) {
	k, keys := testKey(t)
	a := newFakeDrainAgent(t, keys, 3)
	addr := a.start(false)
	var out, errOut bytes.Buffer
	code := run([]string{"fileserver", "leave", "--http", addr, "--id", "fs1", "--encrypt", k,
		"--poll-interval", "10ms", "--token", "tok"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.drained) != 1 || a.drained[0] != "fs1" {
		t.Fatalf("drained %v", a.drained)
	}
	for _, tok := range a.tokens {
		if tok != "Bearer tok" {
			t.Fatalf("authorization %q", tok)
		}
	}
	want := []string{
		"fs1: drain requested",
		"fs1: draining, 5 files on it, replication queue 5",
		"fs1: draining, 4 files on it, replication queue 4",
		"fs1: draining, 3 files on it, replication queue 3",
		"fs1: left, 0 files on it, replication queue 0",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
}

func TestFileserverLeaveFailures(t *testing.T) {
	k, keys := testKey(t)
	other, _ := testKey(t)
	for _, c := range []struct {
		name     string
		polls    int
		drainErr int
		args     []string
		code     int
		stderr   string
	}{
		{"never left: the timeout", -1, 0, []string{"--id", "fs1", "--encrypt", k, "--timeout", "150ms"}, 1, "fs1 is not left after 150ms"},
		{"unsigned: refused", 0, 0, []string{"--id", "fs1"}, 1, "401"},
		{"another key: refused", 0, 0, []string{"--id", "fs1", "--encrypt", other}, 1, "401"},
		{"the agent refuses the drain", 0, http.StatusNotFound, []string{"--id", "fs1", "--encrypt", k}, 1, "404"},
		{"unknown server", 0, 0, []string{"--id", "fs9", "--encrypt", k}, 1, `no file server "fs9"`},
		{"no id", 0, 0, []string{"--encrypt", k}, 2, "--id is required"},
		{"extra arguments", 0, 0, []string{"--id", "fs1", "now"}, 2, "unexpected arguments"},
		{"bad key", 0, 0, []string{"--id", "fs1", "--encrypt", "c2hvcnQ="}, 2, "cluster key"},
		{"bad timeout", 0, 0, []string{"--id", "fs1", "--timeout", "0s"}, 2, "must be positive"},
		{"bad flag", 0, 0, []string{"--id", "fs1", "--nope"}, 2, "nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newFakeDrainAgent(t, keys, c.polls)
			a.drainErr = c.drainErr
			args := append([]string{"fileserver", "leave", "--http", a.start(false), "--poll-interval", "10ms"}, c.args...)
			var out, errOut bytes.Buffer
			if code := run(args, &out, &errOut); code != c.code || !strings.Contains(errOut.String(), c.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, errOut.String(), c.code, c.stderr)
			}
		})
	}
}

// A failed read of /admin/dfs (an agent restarting, a leader changing) is
// retried until the timeout.
func TestFileserverLeaveRetriesReads(t *testing.T) {
	k, keys := testKey(t)
	a := newFakeDrainAgent(t, keys, 1)
	a.failGets = 2
	var out, errOut bytes.Buffer
	if code := run([]string{"fileserver", "leave", "--http", a.start(false), "--id", "fs1", "--encrypt", k, "--poll-interval", "10ms"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if n := strings.Count(errOut.String(), "retrying"); n != 2 || !strings.Contains(out.String(), "fs1: left") {
		t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}

// Over HTTPS, trusting --tls-ca.
func TestFileserverLeaveTLS(t *testing.T) {
	k, keys := testKey(t)
	a := newFakeDrainAgent(t, keys, 0)
	addr := a.start(true)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"fileserver", "leave", "--http", addr, "--id", "fs1", "--encrypt", k, "--poll-interval", "10ms", "--tls-ca", ca}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(out.String(), "fs1: left") {
		t.Fatalf("stdout %q", out.String())
	}
	// Without --tls-ca the call is plain HTTP, which a TLS agent refuses.
	if code := run([]string{"fileserver", "leave", "--http", addr, "--id", "fs1", "--encrypt", k, "--timeout", "5s"}, &out, &errOut); code != 1 {
		t.Fatalf("plain HTTP to a TLS agent: exit %d", code)
	}
}
