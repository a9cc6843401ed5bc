package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

// custodes dev has no supervisor to restart an agent that stops to
// resynchronise: it restarts it itself, and the agent comes back with the
// cluster's state.
func TestDevRestartsAnAgentThatMustResynchronise(t *testing.T) {
	c, err := agenttest.Start(3, agenttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	l, err := c.WaitForLeader(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, url, body string) (int, []byte) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if s, b := call(http.MethodPost, c.URL(l)+"/register", `{"name":"before","address":"10.0.0.1:80"}`); s != http.StatusCreated {
		t.Fatalf("register: %d %s", s, b)
	}
	s, archive := call(http.MethodGet, c.URL(l)+"/admin/snapshot", "")
	if s != http.StatusOK {
		t.Fatalf("save: %d", s)
	}
	if s, b := call(http.MethodPost, c.URL(l)+"/register", `{"name":"after","address":"10.0.0.2:80"}`); s != http.StatusCreated {
		t.Fatalf("register: %d %s", s, b)
	}
	d, err := c.Diverge(archive)
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	var stderr syncBuffer
	go func() {
		defer close(done)
		superviseDev(c.Agents, stop, &stderr)
	}()
	agenttest.WaitFor(t, "the diverged agent to be restarted and serve the cluster's state", 30*time.Second, func() bool {
		s, _ := call(http.MethodGet, c.URL(d)+"/service/after", "")
		return s == http.StatusOK
	})
	close(stop)
	<-done
	if !strings.Contains(stderr.String(), "restarted node") {
		t.Fatalf("dev did not say it restarted the agent: %q", stderr.String())
	}
}
