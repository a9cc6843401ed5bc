package ui_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/api"
	"github.com/custodes/custodes/ui/uitest"
)

// The dashboard in a real headless Chromium against a real in-process
// cluster: what the issue asks of it, checked as a person would see it.
// Skipped, saying why, where no Chromium is installed (make test-deps
// installs Debian's as root). CUSTODES_UI_SCREENSHOTS=DIR keeps a
// screenshot of each test's page there.

// browser starts Chromium or skips the test.
func browser(t *testing.T) *uitest.Browser {
	t.Helper()
	exe, err := uitest.Chromium()
	if err != nil {
		t.Skipf("skipping the browser test: %v", err)
	}
	b, err := uitest.Start(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// shot keeps a screenshot of the page when CUSTODES_UI_SCREENSHOTS names
// a directory.
func shot(t *testing.T, b *uitest.Browser) {
	if dir := os.Getenv("CUSTODES_UI_SCREENSHOTS"); dir != "" {
		if err := b.Screenshot(filepath.Join(dir, t.Name()+".png")); err != nil {
			t.Logf("screenshot: %v", err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// register registers an instance through agent i's API. A 503 (no
// leader for a moment: elections happen on a loaded machine) is retried,
// as a client would, for at most 15 s.
func register(t *testing.T, c *agenttest.Cluster, i int, token, name, addr string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"address":%q}`, name, addr)
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodPost, c.URL(i)+"/register", bytes.NewReader([]byte(body)))
		must(t, err)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		must(t, err)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusCreated, resp.StatusCode == http.StatusOK: // 200: an earlier try was applied after all
			return
		case resp.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline):
			time.Sleep(100 * time.Millisecond) // a retry's pause, not a wait for a condition
			continue
		}
		t.Fatalf("POST /register %s: %d", name, resp.StatusCode)
	}
}

// The page, opened on a follower, shows the 3 agents and names the
// leader, shows a service registered through the API within 2 s, turns a
// killed file server dead on the ring, and writes no error to the console.
func TestDashboardInChromium(t *testing.T) {
	b := browser(t)
	c, _, err := agenttest.StartFileSystem(3, nil, agenttest.Options{FileServers: 3})
	must(t, err)
	defer c.Shutdown()
	l, err := c.WaitForLeader(10 * time.Second)
	must(t, err)
	at := (l + 1) % 3 // a follower

	must(t, b.Open(c.URL(at)+"/ui/"))
	must(t, b.Until(uitest.ShowsAgents(3), 15*time.Second))
	must(t, b.UntilLeader(leaderOf(c), 15*time.Second))
	must(t, b.Until(uitest.ShowsMembers(6), 15*time.Second)) // 3 agents, 3 file servers
	must(t, b.Until(uitest.ShowsFileServers(3), 15*time.Second))
	for _, id := range []string{"fs1", "fs2", "fs3"} {
		must(t, b.Until(uitest.FileServerIs(id, "alive"), 5*time.Second))
	}
	must(t, b.Until(uitest.StreamLive(), 10*time.Second))

	register(t, c, l, "", "web", "127.0.0.1:8080")
	start := time.Now()
	must(t, b.Until(uitest.ShowsService("web"), 2*time.Second))
	t.Logf("the registration showed after %s", time.Since(start).Round(time.Millisecond))
	must(t, b.Until(uitest.ShowsInstances("web", 1, "passing"), 2*time.Second))
	must(t, b.Until(uitest.ShowsEvent("registered"), 2*time.Second))

	c.KillFileServer(1)
	start = time.Now()
	must(t, b.Until(uitest.FileServerIs("fs2", "dead"), 30*time.Second))
	t.Logf("the killed file server showed dead after %s", time.Since(start).Round(time.Millisecond))
	must(t, b.Until(uitest.ShowsEvent("file-server"), 5*time.Second))

	shot(t, b)
	if p := b.Problems(nil); len(p) > 0 {
		t.Errorf("the browser console has errors:\n%s", joinLines(p))
	}
}

// Behind a proxy that serves an agent under a path prefix, the page calls
// the API under the same prefix: it shows the cluster and follows the
// event stream. The proxy answers nothing outside its prefix, so a call
// to an absolute path fails (and shows in the console).
func TestDashboardBehindAPathPrefix(t *testing.T) {
	b := browser(t)
	c, err := agenttest.Start(3, agenttest.Options{})
	must(t, err)
	defer c.Shutdown()
	l, err := c.WaitForLeader(10 * time.Second)
	must(t, err)
	target, err := url.Parse(c.URL(l))
	must(t, err)
	var outside atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/custodes/", http.StripPrefix("/custodes", httputil.NewSingleHostReverseProxy(target)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		outside.Add(1)
		http.NotFound(w, r)
	})
	proxy := httptest.NewServer(mux)
	// The page's event stream stays open: cut it, or Close waits for it.
	defer proxy.Close()
	defer proxy.CloseClientConnections()

	must(t, b.Open(proxy.URL+"/custodes/ui/"))
	must(t, b.Until(uitest.ShowsAgents(3), 15*time.Second))
	must(t, b.Until(uitest.StreamLive(), 10*time.Second))
	register(t, c, l, "", "behind-proxy", "127.0.0.1:8080")
	must(t, b.Until(uitest.ShowsService("behind-proxy"), 5*time.Second))
	if n := outside.Load(); n > 0 {
		t.Errorf("the page made %d requests outside the prefix", n)
	}
	if p := b.Problems(nil); len(p) > 0 {
		t.Errorf("the browser console has errors:\n%s", joinLines(p))
	}
}

// With ACLs in deny mode the page asks for a token, says so when the one
// typed is refused, and shows the data once a management token is typed;
// the token stays for the tab (sessionStorage) across a reload.
func TestDashboardAsksForAToken(t *testing.T) {
	b := browser(t)
	c, tokens, err := agenttest.StartFileSystem(3, nil, agenttest.Options{
		FileServers: 1,
		Configure:   func(_ int, cfg *agent.Config) { cfg.API.ACL = api.ACLConfig{Default: api.ACLDeny} },
	})
	must(t, err)
	defer c.Shutdown()
	l, err := c.WaitForLeader(10 * time.Second)
	must(t, err)

	must(t, b.Open(c.URL(l)+"/ui/"))
	must(t, b.Until(uitest.AsksForToken(), 10*time.Second))
	if shown, _ := b.Eval(`document.querySelectorAll('#raft-servers tbody tr').length`); shown != "0" {
		t.Errorf("the page shows %s Raft servers before it has a token", shown)
	}

	must(t, b.EnterToken("not-a-token"))
	must(t, b.Wait("the refused token said so", 10*time.Second,
		`!document.getElementById('auth').hidden && document.getElementById('auth-msg').textContent.includes('refused')`,
		`document.getElementById('auth-msg').textContent`))

	must(t, b.EnterToken(tokens["root"]))
	must(t, b.Until(uitest.TokenFormHidden(), 5*time.Second))
	must(t, b.Until(uitest.ShowsAgents(3), 15*time.Second))
	must(t, b.UntilLeader(leaderOf(c), 15*time.Second))
	must(t, b.Until(uitest.ShowsFileServers(1), 15*time.Second))
	must(t, b.Until(uitest.StreamLive(), 10*time.Second))
	register(t, c, l, tokens["root"], "db", "127.0.0.1:5432")
	must(t, b.Until(uitest.ShowsService("db"), 2*time.Second))

	must(t, b.Open(c.URL(l)+"/ui/"))
	must(t, b.Until(uitest.ShowsAgents(3), 15*time.Second))
	must(t, b.Until(uitest.ShowsService("db"), 5*time.Second))
	must(t, b.Until(uitest.TokenFormHidden(), time.Second))

	shot(t, b)
	// The page's own 401s, before a token and for the wrong one, are
	// reported by the browser as failed loads; nothing else may be.
	if p := b.Problems(uitest.AllowRefusedToken); len(p) > 0 {
		t.Errorf("the browser console has errors:\n%s", joinLines(p))
	}
}

// leaderOf says which agent leads c now.
func leaderOf(c *agenttest.Cluster) func() (string, error) {
	return func() (string, error) {
		l, err := c.WaitForLeader(10 * time.Second)
		if err != nil {
			return "", err
		}
		return c.Agents[l].Node().ID(), nil
	}
}

func joinLines(lines []string) string {
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString("  " + l + "\n")
	}
	return buf.String()
}
