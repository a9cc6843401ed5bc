package cluster_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster"
)

// WaitAllApplied returns once every live agent has applied the index, so
// a client that asks any agent next sees the write; it gives up, naming
// the laggards, when an index is never reached; and it skips an agent
// gossip reports dead instead of waiting for it.
func TestWaitAllApplied(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	l, err := c.WaitForLeader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Followers()[0]
	node := c.Agents[f].Node()
	ctx := context.Background()

	for i := range 5 {
		res := register(t, c.URL(f), "svc", "10.0.0.1:"+strconv.Itoa(80+i))
		if err := node.WaitAllApplied(ctx, res.Index); err != nil {
			t.Fatal(err)
		}
		for j, a := range c.Agents {
			if got := a.Node().FSM().AppliedIndex(); got < res.Index {
				t.Fatalf("agent %d applied %d after WaitAllApplied(%d)", j+1, got, res.Index)
			}
		}
	}

	start := time.Now()
	far := node.FSM().AppliedIndex() + 1_000_000
	err = node.WaitAllApplied(ctx, far)
	if !errors.Is(err, cluster.ErrTimeout) || !strings.Contains(err.Error(), c.Agents[l].Node().ID()) {
		t.Fatalf("an index never reached: %v", err)
	}
	if took := time.Since(start); took > cluster.AllAppliedWait+time.Second {
		t.Fatalf("gave up after %s", took)
	}

	// A dead agent is skipped once gossip reports it dead.
	other := c.Followers()[1]
	deadID := c.Agents[other].Node().ID()
	c.Kill(other)
	agenttest.WaitFor(t, "gossip to report the killed agent dead", 10*time.Second, func() bool {
		for _, m := range node.Members() {
			if m.Name == deadID {
				return m.State != "alive"
			}
		}
		return true
	})
	res := register(t, c.URL(f), "svc", "10.0.0.2:1")
	start = time.Now()
	if err := node.WaitAllApplied(ctx, res.Index); err != nil {
		t.Fatalf("with a dead agent: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("waited %s for a dead agent", took)
	}
}
