package cluster_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	agenttest.WaitFor(t, what, timeout, cond)
}

func memberState(c *agenttest.Cluster, observer int, name string) string {
	for _, m := range c.Agents[observer].Node().Members() {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

func TestDeadAgentIsReplacedByAFreshOne(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	victim := c.Followers()[0]
	victimID := c.Agents[victim].Node().ID()
	c.Kill(victim)
	l := c.Leader()
	waitFor(t, "gossip to mark the killed agent dead", 5*time.Second, func() bool {
		return memberState(c, l, victimID) == "dead"
	})
	var last result
	for i := range 10 {
		last = register(t, c.URL(c.Followers()[0]), fmt.Sprintf("during-%d", i), "10.0.0.1:80")
	}
	// Quorum safety: with min-quorum 3, the dead voter stays until replaced.
	if v := c.Voters(l); len(v) != 3 {
		t.Fatalf("voters before replacement: %v", v)
	}
	fresh, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	freshID := c.Agents[fresh].Node().ID()
	waitFor(t, "the replacement to become a voter and the dead one to be removed", 15*time.Second, func() bool {
		l := c.Leader()
		if l < 0 {
			return false
		}
		v := c.Voters(l)
		return len(v) == 3 && slices.Contains(v, freshID) && !slices.Contains(v, victimID)
	})
	if err := c.WaitForIndex(last.Index, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if status, n := lookup(t, c.URL(fresh), fmt.Sprintf("during-%d", i), "?stale"); status != 200 || n != 1 {
			t.Fatalf("replacement lacks during-%d: %d", i, status)
		}
	}
}

func TestDeadServerCleanupNeverGoesBelowMinQuorum(t *testing.T) {
	c := startCluster(t, 5, agenttest.Options{Configure: func(_ int, cfg *agent.Config) {
		cfg.Cluster.DeadServerTimeout = 500 * time.Millisecond
		cfg.Cluster.MinQuorum = 3
	}})
	f := c.Followers()
	c.Kill(f[0])
	c.Kill(f[1])
	register(t, c.LeaderURL(t), "after-two-dead", "10.0.0.1:80")
	if err := c.WaitForVoters(3, 15*time.Second); err != nil {
		t.Fatal("dead voters not removed:", err)
	}
	// A third death: removing it would leave 2 voters, under min-quorum.
	l := c.Leader()
	victim := c.Followers()[0]
	c.Kill(victim)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if v := c.Voters(l); len(v) < 3 {
			t.Fatalf("voters dropped below min-quorum: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	register(t, c.URL(l), "still-writable", "10.0.0.1:80")
}

func TestGracefulStopOfLeaderTransfersLeadership(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	l := c.Leader()
	var acked []string
	for i := range 10 {
		name := fmt.Sprintf("graceful-%d", i)
		register(t, c.URL(l), name, "10.0.0.1:80")
		acked = append(acked, name)
	}
	start := time.Now()
	c.Stop(l)
	nl, err := c.WaitForLeader(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader %d after %s", nl, time.Since(start))
	for _, name := range acked {
		if status, _ := lookup(t, c.URL(nl), name, ""); status != 200 {
			t.Fatalf("lost %s", name)
		}
	}
	if v := c.Voters(nl); len(v) != 3 {
		t.Fatalf("a graceful stop must not leave the configuration: %v", v)
	}
	if err := c.Restart(l); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stopped leader to rejoin", 10*time.Second, func() bool {
		return c.Agents[l].Node().Ready()
	})
}

func TestLeaveShrinksTheConfiguration(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	f := c.Followers()[0]
	id := c.Agents[f].Node().ID()
	resp, err := http.Post(c.URL(f)+"/admin/leave", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("leave: %d", resp.StatusCode)
	}
	<-c.Agents[f].Left()
	c.Stop(f)
	if err := c.WaitForVoters(2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := c.Voters(c.Leader()); slices.Contains(v, id) {
		t.Fatalf("%s still a voter: %v", id, v)
	}
	// The leaver is not added back by reconciliation.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if v := c.Voters(c.Leader()); len(v) != 2 {
			t.Fatalf("configuration changed after leave: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	register(t, c.LeaderURL(t), "after-leave", "10.0.0.1:80")
}

func TestAgentBackAtANewAddressUpdatesItsEntry(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	victim := c.Followers()[0]
	id := c.Agents[victim].Node().ID()
	oldRaft := c.Agents[victim].Node().RaftAddr()
	c.Kill(victim)
	last := register(t, c.LeaderURL(t), "moved", "10.0.0.1:80")
	if err := c.RestartElsewhere(victim); err != nil {
		t.Fatal(err)
	}
	newRaft := c.Agents[victim].Node().RaftAddr()
	if newRaft == oldRaft {
		t.Fatalf("restart did not move: %s", newRaft)
	}
	waitFor(t, "the configuration to carry the new address, once", 15*time.Second, func() bool {
		l := c.Leader()
		if l < 0 {
			return false
		}
		n, at := 0, ""
		for _, s := range c.Agents[l].Node().Status().Servers {
			if s.ID == id {
				n++
				at = s.Address
			}
		}
		return n == 1 && at == newRaft && len(c.Agents[l].Node().Status().Servers) == 3
	})
	if err := c.WaitForIndex(last.Index, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := c.Voters(c.Leader()); len(v) != 3 || !slices.Contains(v, id) {
		t.Fatalf("voters: %v", v)
	}
}
