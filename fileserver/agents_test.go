package fileserver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/fileserver"
	"github.com/custodes/custodes/keyring"
)

// memberState is how agent i sees the member name: "role/state/http".
func memberState(c *agenttest.Cluster, i int, name string) (gossip.Member, bool) {
	for _, m := range c.Agents[i].Node().Members() {
		if m.Name == name {
			return m, true
		}
	}
	return gossip.Member{}, false
}

// everyAgentSees reports whether every live agent sees name in state,
// with role file (and, when alive, its current HTTP address).
func everyAgentSees(c *agenttest.Cluster, name, state, http string) bool {
	for i, a := range c.Agents {
		if a == nil {
			continue
		}
		m, ok := memberState(c, i, name)
		if !ok || m.Role != gossip.RoleFile || m.State != state || (http != "" && m.HTTP != http) {
			return false
		}
	}
	return true
}

// File servers join the agents' gossip as role file: every agent sees
// them alive with their HTTP address, a killed one dead, a restarted one
// alive again; they learn the agents from gossip.
func TestFileServersJoinTheAgentsGossip(t *testing.T) {
	keys := agenttest.NewKeys()
	c, err := agenttest.Start(3, agenttest.Options{Keys: keys, FileServers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	for i, name := range []string{"fs1", "fs2"} {
		agenttest.WaitFor(t, name+" alive at every agent", 10*time.Second, func() bool {
			return everyAgentSees(c, name, gossip.StateAlive, c.FileServerAddr(i))
		})
	}
	// The file servers see the registry agents (whom they register with).
	agenttest.WaitFor(t, "fs1 sees three registry agents", 10*time.Second, func() bool {
		n := 0
		for _, m := range c.FileServer(0).Members() {
			if m.Role == gossip.RoleRegistry && m.State == gossip.StateAlive {
				n++
			}
		}
		return n == 3
	})
	// Never a Raft voter.
	for i := range c.Agents {
		for _, v := range c.Voters(i) {
			if v == "fs1" || v == "fs2" {
				t.Fatalf("%s became a voter", v)
			}
		}
	}
	// The protocol answers under the cluster key.
	cl := &fileserver.Client{Signer: keyring.NewSigner(keys)}
	if inv, err := cl.Inventory(context.Background(), c.FileServerAddr(1)); err != nil || inv.ID != "fs2" {
		t.Fatalf("inventory of fs2: %+v %v", inv, err)
	}
	if resp, err := http.Get(c.FileServerURL(1) + "/v1/inventory"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned inventory: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	c.KillFileServer(0)
	agenttest.WaitFor(t, "fs1 dead at every agent", 10*time.Second, func() bool {
		return everyAgentSees(c, "fs1", gossip.StateDead, "")
	})
	if err := c.RestartFileServer(0); err != nil {
		t.Fatal(err)
	}
	agenttest.WaitFor(t, "fs1 alive again", 10*time.Second, func() bool {
		return everyAgentSees(c, "fs1", gossip.StateAlive, c.FileServerAddr(0))
	})
	// A graceful stop: no agent sees fs2 alive any more, and agents see
	// it left. (Gossip may deliver the leave before the "leaving"
	// metadata to an agent, which then records dead: cluster/gossip's
	// ordering, as for agents that leave.)
	c.StopFileServer(1)
	agenttest.WaitFor(t, "fs2 gone at every agent, left at some", 10*time.Second, func() bool {
		left := false
		for i := range c.Agents {
			m, _ := memberState(c, i, "fs2")
			switch m.State {
			case gossip.StateLeft:
				left = true
			case gossip.StateDead:
			default:
				return false
			}
		}
		return left
	})
}

// In a TLS cluster a file server serves HTTPS with its certificate.
func TestFileServerInATLSCluster(t *testing.T) {
	c, err := agenttest.Start(1, agenttest.Options{TLS: true, FileServers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	conf, err := c.ClientTLS(true)
	if err != nil {
		t.Fatal(err)
	}
	cl := &fileserver.Client{HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}, Scheme: "https"}
	if id, err := cl.Alive(context.Background(), c.FileServerAddr(0)); err != nil || id != "fs1" {
		t.Fatalf("alive over TLS: %q %v", id, err)
	}
	agenttest.WaitFor(t, "fs1 alive at the agent", 10*time.Second, func() bool {
		return everyAgentSees(c, "fs1", gossip.StateAlive, c.FileServerAddr(0))
	})
}
