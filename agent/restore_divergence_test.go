package agent_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster"
)

// A restore the leader installed but could not commit (its followers went
// away while it ran) leaves that agent with a state the cluster never
// had. Once the others elect a leader, it must not answer reads from it.
func TestARestoreThatDidNotCommitIsNotReadBack(t *testing.T) {
	c, l, err := agenttest.StartDiverged()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	var followers []int
	for i := range 3 {
		if i != l {
			followers = append(followers, i)
		}
	}
	get := func(i int, path string) (int, string) {
		resp, err := http.Get(c.URL(i) + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The others serve the write made before the restore; the old leader
	// refuses to read from the state it restored alone.
	for _, i := range followers {
		agenttest.WaitFor(t, "the survivors to serve the registration", 10*time.Second, func() bool {
			s, _ := get(i, "/service/after")
			return s == http.StatusOK
		})
	}
	if s, b := get(l, "/service/after"); s != http.StatusServiceUnavailable || !strings.Contains(b, "diverged") {
		t.Fatalf("the old leader answered a read from a state the cluster never committed: %d %s", s, b)
	}
	if s, b := get(l, "/ready"); s != http.StatusServiceUnavailable || !strings.Contains(b, "diverged") {
		t.Fatalf("the old leader is ready: %d %s", s, b)
	}
	// A healthy follower cannot be demoted through the same operation.
	healthy := followers[0]
	if _, _, err := c.Agents[healthy].Node().CallLeader(context.Background(), cluster.OpResync, []byte(`{"id":"`+c.Agents[healthy].Node().ID()+`"}`)); !errors.Is(err, cluster.ErrUnsafe) {
		t.Fatalf("resync of a healthy follower: %v, want ErrUnsafe", err)
	}
	select {
	case <-c.Agents[l].Resync():
	case <-time.After(20 * time.Second):
		t.Fatal("the diverged agent did not ask to be restarted")
	}
	nl := c.Leader()
	for _, s := range c.Voters(nl) {
		if s == c.Agents[l].Node().ID() {
			t.Fatalf("the diverged agent is still a voter: %v", c.Voters(nl))
		}
	}
	// Restarted, as a supervisor would, it comes back with the cluster's
	// state, and is promoted again once caught up.
	c.Kill(l)
	if err := c.Restart(l); err != nil {
		t.Fatal(err)
	}
	agenttest.WaitFor(t, "the resynchronised agent to serve the cluster's state", 20*time.Second, func() bool {
		s1, _ := get(l, "/service/after")
		s2, _ := get(l, "/service/before")
		return s1 == http.StatusOK && s2 == http.StatusOK
	})
	if err := c.WaitForVoters(3, 30*time.Second); err != nil {
		t.Fatalf("the resynchronised agent was not promoted again: %v (voters %v)", err, c.Voters(c.Leader()))
	}
	if s, b := get(l, "/ready"); s != http.StatusOK {
		t.Fatalf("the resynchronised agent is not ready: %d %s", s, b)
	}
}
