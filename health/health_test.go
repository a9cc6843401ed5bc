package health_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

// flipper is a test service whose /alive answers 200 or 500 on demand.
type flipper struct {
	srv  *httptest.Server
	up   atomic.Bool
	hits atomic.Int64
}

func newFlipper(t *testing.T) *flipper {
	f := &flipper{}
	f.up.Store(true)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.up.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flipper) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// webhook records rectify calls.
type webhook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []map[string]any
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		h.calls = append(h.calls, body)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhook) count() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.calls) }

func start(t *testing.T) *agenttest.Cluster {
	c, err := agenttest.Start(3, agenttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

func do(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	agenttest.WaitFor(t, what, timeout, cond)
}

func status(t *testing.T, c *agenttest.Cluster, i int, id string) string {
	_, inst := do(t, http.MethodGet, c.URL(i)+"/instance/"+id, nil)
	s, _ := inst["status"].(string)
	return s
}

func TestHTTPCheckTransitionsLookupsAndRectify(t *testing.T) {
	c := start(t)
	svc := newFlipper(t)
	hook := newWebhook(t)
	code, reg := do(t, http.MethodPost, c.URL(0)+"/register", map[string]any{
		"name": "flaky", "address": svc.addr(),
		"check":   map[string]any{"interval": "100ms", "timeout": "50ms", "failures_before_critical": 3, "successes_before_passing": 2},
		"rectify": map[string]any{"url": hook.srv.URL},
	})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, reg)
	}
	id := reg["id"].(string)
	waitFor(t, "the check to be polled", 5*time.Second, func() bool { return svc.hits.Load() >= 2 })
	if s := status(t, c, 1, id); s != "passing" {
		t.Fatalf("status while healthy: %s", s)
	}

	svc.up.Store(false)
	hitsAtFlip := svc.hits.Load()
	waitFor(t, "critical", 5*time.Second, func() bool { return status(t, c, 2, id) == "critical" })
	if n := svc.hits.Load() - hitsAtFlip; n < 3 {
		t.Fatalf("critical after %d failed polls, want at least failures_before_critical=3", n)
	}
	code, body := do(t, http.MethodGet, c.URL(1)+"/service/flaky", nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("lookup of an all-critical service: %d %v", code, body)
	}
	if inst := body["instances"].([]any)[0].(map[string]any); inst["status"] != "critical" {
		t.Fatalf("503 body should list the instances with their status: %v", body)
	}
	if code, _ := do(t, http.MethodGet, c.URL(1)+"/service/flaky?all=true", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("all=true on an all-critical service: %d", code)
	}
	waitFor(t, "the rectify webhook", 5*time.Second, func() bool { return hook.count() == 1 })
	hook.mu.Lock()
	call := hook.calls[0]
	hook.mu.Unlock()
	if call["event"] != "critical" || call["instance"].(map[string]any)["id"] != id {
		t.Fatalf("webhook body: %v", call)
	}

	svc.up.Store(true)
	waitFor(t, "passing again", 5*time.Second, func() bool { return status(t, c, 0, id) == "passing" })
	if code, _ := do(t, http.MethodGet, c.URL(2)+"/service/flaky", nil); code != http.StatusOK {
		t.Fatalf("lookup after recovery: %d", code)
	}
	// Once per transition: a second outage calls it a second time, no more.
	svc.up.Store(false)
	waitFor(t, "critical again", 5*time.Second, func() bool { return status(t, c, 0, id) == "critical" })
	waitFor(t, "the second webhook call", 5*time.Second, func() bool { return hook.count() == 2 })
	polls := svc.hits.Load()
	waitFor(t, "more failed polls", 5*time.Second, func() bool { return svc.hits.Load() >= polls+5 })
	if n := hook.count(); n != 2 {
		t.Fatalf("webhook called %d times for 2 transitions", n)
	}
}

func TestLookupSkipsCriticalInstances(t *testing.T) {
	c := start(t)
	good, bad := newFlipper(t), newFlipper(t)
	bad.up.Store(false)
	for _, s := range []*flipper{good, bad} {
		code, _ := do(t, http.MethodPost, c.URL(0)+"/register", map[string]any{
			"name": "mixed", "address": s.addr(), "check": map[string]any{"interval": "50ms", "failures_before_critical": 1},
		})
		if code != http.StatusCreated {
			t.Fatal(code)
		}
	}
	waitFor(t, "the bad instance to be excluded", 5*time.Second, func() bool {
		code, body := do(t, http.MethodGet, c.URL(1)+"/service/mixed", nil)
		return code == 200 && len(body["instances"].([]any)) == 1
	})
	for range 5 {
		_, body := do(t, http.MethodGet, c.URL(1)+"/service/mixed", nil)
		if body["address"] != good.addr() {
			t.Fatalf("handed out %v, the critical instance: %v", body["address"], body)
		}
	}
	_, body := do(t, http.MethodGet, c.URL(1)+"/service/mixed?all=true", nil)
	if len(body["instances"].([]any)) != 2 {
		t.Fatalf("all=true should list both: %v", body)
	}
}

func TestRedirectCountsAsFailing(t *testing.T) {
	c := start(t)
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/elsewhere", http.StatusFound))
	t.Cleanup(redirect.Close)
	code, reg := do(t, http.MethodPost, c.URL(0)+"/register", map[string]any{
		"name": "moved", "address": "127.0.0.1:9",
		"check": map[string]any{"http": redirect.URL + "/alive", "interval": "50ms", "failures_before_critical": 1},
	})
	if code != http.StatusCreated {
		t.Fatal(code, reg)
	}
	id := reg["id"].(string)
	waitFor(t, "a redirecting check to turn critical", 5*time.Second, func() bool { return status(t, c, 0, id) == "critical" })
	_, inst := do(t, http.MethodGet, c.URL(0)+"/instance/"+id, nil)
	if out, _ := inst["status_output"].(string); !strings.Contains(out, "302") {
		t.Fatalf("status output should name the redirect: %q", out)
	}
}

func TestDeregisterAfterRemovesLongCriticalInstance(t *testing.T) {
	c := start(t)
	svc := newFlipper(t)
	svc.up.Store(false)
	code, reg := do(t, http.MethodPost, c.URL(0)+"/register", map[string]any{
		"name": "doomed", "address": svc.addr(),
		"check": map[string]any{"interval": "50ms", "failures_before_critical": 1, "deregister_after": "300ms"},
	})
	if code != http.StatusCreated {
		t.Fatal(code, reg)
	}
	id := reg["id"].(string)
	waitFor(t, "the instance to be deregistered", 10*time.Second, func() bool {
		code, _ := do(t, http.MethodGet, c.URL(1)+"/instance/"+id, nil)
		return code == http.StatusNotFound
	})
}

func TestTTLCheckExpiresAndHeartbeatRevives(t *testing.T) {
	c := start(t)
	code, reg := do(t, http.MethodPost, c.URL(1)+"/register", map[string]any{
		"name": "job", "address": "127.0.0.1:9100", "check": map[string]any{"ttl": "300ms"},
	})
	if code != http.StatusCreated {
		t.Fatal(code, reg)
	}
	id := reg["id"].(string)
	// Heartbeats through a follower keep it passing past its TTL.
	f := c.Followers()[0]
	for range 6 {
		if code, body := do(t, http.MethodPut, c.URL(f)+"/instance/"+id+"/heartbeat", nil); code != 200 || body["status"] != "passing" {
			t.Fatalf("heartbeat: %d %v", code, body)
		}
		time.Sleep(100 * time.Millisecond) // the client's heartbeat period
	}
	if s := status(t, c, 0, id); s != "passing" {
		t.Fatalf("heartbeats did not keep it passing: %s", s)
	}
	waitFor(t, "the TTL to expire", 5*time.Second, func() bool { return status(t, c, 0, id) == "critical" })
	if code, body := do(t, http.MethodPut, c.URL(f)+"/instance/"+id+"/heartbeat", nil); code != 200 || body["status"] != "passing" {
		t.Fatalf("heartbeat after expiry: %d %v", code, body)
	}
	if s := status(t, c, 2, id); s != "passing" {
		t.Fatalf("a heartbeat must revive it: %s", s)
	}
	code, reg = do(t, http.MethodPost, c.URL(0)+"/register", map[string]any{"name": "plain", "address": "127.0.0.1:9200"})
	if code != http.StatusCreated {
		t.Fatal(code)
	}
	if code, _ := do(t, http.MethodPut, c.URL(0)+"/instance/"+reg["id"].(string)+"/heartbeat", nil); code != http.StatusConflict {
		t.Fatalf("heartbeat on an instance without a ttl check: %d, want 409", code)
	}
	if code, _ := do(t, http.MethodPut, c.URL(0)+"/instance/nope/heartbeat", nil); code != http.StatusNotFound {
		t.Fatalf("heartbeat on an unknown instance: %d, want 404", code)
	}
}

func TestCheckMovesWhenItsAgentDies(t *testing.T) {
	c := start(t)
	svc := newFlipper(t)
	code, reg := do(t, http.MethodPost, c.URL(0)+"/register", map[string]any{
		"name": "watched", "address": svc.addr(), "check": map[string]any{"interval": "50ms", "failures_before_critical": 1},
	})
	if code != http.StatusCreated {
		t.Fatal(code)
	}
	id := reg["id"].(string)
	owner := -1
	waitFor(t, "one agent to own the check", 5*time.Second, func() bool {
		owners := 0
		for i, a := range c.Agents {
			for _, o := range a.Health().Owned() {
				if o == id {
					owner, owners = i, owners+1
				}
			}
		}
		return owners == 1
	})
	c.Kill(owner)
	if _, err := c.WaitForLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "another agent to take the check over", 10*time.Second, func() bool {
		for i, a := range c.Agents {
			if a != nil && i != owner {
				for _, o := range a.Health().Owned() {
					if o == id {
						return true
					}
				}
			}
		}
		return false
	})
	// And it still works: the new owner notices an outage.
	svc.up.Store(false)
	l := c.Leader()
	waitFor(t, "critical after the move", 5*time.Second, func() bool { return status(t, c, l, id) == "critical" })
}
