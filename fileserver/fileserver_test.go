package fileserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodes/custodes/keyring"
)

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeAgent answers POST /dfs/register: 404 for the first fail calls (the
// route not there yet), then 200; it checks the signature.
type fakeAgent struct {
	*httptest.Server
	fail  int32
	calls atomic.Int32 // calls that passed the key check
	seen  atomic.Int32 // every call
	mu    sync.Mutex
	got   []RegisterRequest
}

func newFakeAgent(t *testing.T, keys [][]byte, fail int32) *fakeAgent {
	f := &fakeAgent{fail: fail}
	v := keyring.NewVerifier(keys, keyring.VerifierConfig{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /dfs/register", func(w http.ResponseWriter, r *http.Request) {
		if f.calls.Add(1) <= f.fail {
			http.NotFound(w, r)
			return
		}
		var req RegisterRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f.mu.Lock()
		f.got = append(f.got, req)
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	checked := v.Middleware(mux)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.seen.Add(1)
		checked.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAgent) registrations() []RegisterRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RegisterRequest(nil), f.got...)
}

func testConfig(t *testing.T, id, dir string, keys [][]byte, agents ...string) Config {
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Keys, cfg.Agents = id, dir, keys, agents
	cfg.HTTPAddr, cfg.GossipAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RegisterInterval = 20 * time.Millisecond
	cfg.GossipInterval, cfg.ProbeInterval, cfg.ProbeTimeout = 50*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	return cfg
}

// Registration retries through 404s until the agent accepts, signed with
// the key, and happens again after a restart.
func TestRegistrationRetriesAndRepeatsAfterRestart(t *testing.T) {
	keys := testKeys(t)
	agent := newFakeAgent(t, keys, 3)
	dir := t.TempDir()
	cfg := testConfig(t, "fs1", dir, keys, strings.TrimPrefix(agent.URL, "http://"))
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "registration", 5*time.Second, s.Registered)
	got := agent.registrations()
	if len(got) != 1 || got[0].ID != "fs1" || got[0].Address != s.Addr() || agent.calls.Load() != 4 {
		t.Fatalf("registrations %+v after %d calls", got, agent.calls.Load())
	}
	if id, err := (&Client{}).Alive(context.Background(), s.Addr()); err != nil || id != "fs1" {
		t.Fatalf("alive: %q %v", id, err)
	}
	s.Kill()

	s, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitFor(t, "registration after restart", 5*time.Second, s.Registered)
	if got := agent.registrations(); len(got) != 2 || got[1].Address != s.Addr() {
		t.Fatalf("registrations %+v", got)
	}
}

// An agent with another key refuses; the server keeps trying.
func TestRegistrationWithAnotherKeyNeverSucceeds(t *testing.T) {
	agent := newFakeAgent(t, testKeys(t), 0)
	s, err := Start(testConfig(t, "fs1", t.TempDir(), testKeys(t), strings.TrimPrefix(agent.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitFor(t, "several attempts", 5*time.Second, func() bool { return agent.seen.Load() >= 2 })
	if s.Registered() || len(agent.registrations()) != 0 {
		t.Fatal("registered with an agent of another key")
	}
}

// Two file servers gossip; one killed is seen dead, one restarted alive
// again at its new address, one stopped gone.
func TestGossipBetweenFileServers(t *testing.T) {
	keys := testKeys(t)
	a, err := Start(testConfig(t, "fsa", t.TempDir(), keys, "127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	cb := testConfig(t, "fsb", t.TempDir(), keys, "127.0.0.1:1")
	cb.Join = []string{a.GossipAddr()}
	b, err := Start(cb)
	if err != nil {
		t.Fatal(err)
	}
	state := func(name string) string {
		for _, m := range a.Members() {
			if m.Name == name {
				return m.Role + "/" + m.State + "/" + m.HTTP
			}
		}
		return ""
	}
	waitFor(t, "fsb alive", 10*time.Second, func() bool { return state("fsb") == "file/alive/"+b.Addr() })
	b.Kill()
	waitFor(t, "fsb dead", 10*time.Second, func() bool { return strings.HasPrefix(state("fsb"), "file/dead/") })
	c, err := Start(cb)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fsb back", 10*time.Second, func() bool { return state("fsb") == "file/alive/"+c.Addr() })
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// Left, or dead when gossip delivered the leave before the "leaving"
	// metadata (cluster/gossip's ordering; see agents_test.go).
	waitFor(t, "fsb gone", 10*time.Second, func() bool {
		return strings.HasPrefix(state("fsb"), "file/left/") || strings.HasPrefix(state("fsb"), "file/dead/")
	})
}
