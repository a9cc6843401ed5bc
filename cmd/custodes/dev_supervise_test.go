package main

import (
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
	c, d, err := agenttest.StartDiverged()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	get := func(i int, path string) int {
		resp, err := http.Get(c.URL(i) + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	stop, done := make(chan struct{}), make(chan struct{})
	var stderr syncBuffer
	go func() {
		defer close(done)
		superviseDev(c.Agents, stop, &stderr)
	}()
	agenttest.WaitFor(t, "the diverged agent to be restarted and serve the cluster's state", 30*time.Second, func() bool {
		return get(d, "/service/after") == http.StatusOK
	})
	close(stop)
	<-done
	if !strings.Contains(stderr.String(), "restarted node") {
		t.Fatalf("dev did not say it restarted the agent: %q", stderr.String())
	}
}
