package agent_test

import (
	"slices"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster/gossip"
)

// A process that runs no Raft (a file server, in the directory issue)
// joins the agents' gossip pool with the cluster key: every agent sees it
// alive with its role, and no leader ever adds it to Raft.
func TestAProcessWithoutRaftJoinsTheAgentsGossip(t *testing.T) {
	keys := newKeys(t)
	c, err := agenttest.Start(3, agenttest.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	p, err := gossip.Start(gossip.Config{
		Name: "files1", BindAddr: "127.0.0.1:0", Keys: keys,
		GossipInterval: 50 * time.Millisecond, ProbeInterval: 200 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond, SuspicionMult: 2,
	}, gossip.Meta{Role: gossip.RoleFile, ID: "files1", HTTP: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown()
	if err := p.Join([]string{c.Agents[0].Node().GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	agenttest.WaitFor(t, "every agent sees files1 alive", 5*time.Second, func() bool {
		for _, a := range c.Agents {
			i := slices.IndexFunc(a.Node().Members(), func(m gossip.Member) bool { return m.Name == "files1" })
			if i < 0 || a.Node().Members()[i].State != gossip.StateAlive || a.Node().Members()[i].Role != gossip.RoleFile {
				return false
			}
		}
		return true
	})
	// Reconciliation runs every 200 ms in tests: give it several passes.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		for i := range c.Agents {
			if slices.Contains(c.Voters(i), "files1") {
				t.Fatal("files1 became a Raft voter")
			}
		}
		if l := c.Leader(); l >= 0 {
			for _, s := range c.Agents[l].Node().Status().Servers {
				if s.ID == "files1" {
					t.Fatal("files1 is in the Raft configuration")
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}
