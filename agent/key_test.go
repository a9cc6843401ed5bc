package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/api"
	"github.com/custodes/custodes/keyring"
)

func newKeys(t *testing.T) [][]byte {
	t.Helper()
	s, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// call sends one request, signed by s unless s is nil, and returns the
// status and the body's "error".
func call(t *testing.T, s *keyring.Signer, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := s.Sign(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

// inCluster reports whether id is alive in any agent's gossip or in any
// agent's Raft configuration.
func inCluster(c *agenttest.Cluster, id string) bool {
	for _, a := range c.Agents {
		if a == nil {
			continue
		}
		for _, m := range a.Node().Members() {
			if m.Name == id && m.State == "alive" {
				return true
			}
		}
		for _, s := range a.Node().Status().Servers {
			if s.ID == id {
				return true
			}
		}
	}
	return false
}

func TestClusterKeyKeepsOthersOut(t *testing.T) {
	key, other := newKeys(t), newKeys(t)
	c, err := agenttest.Start(3, agenttest.Options{Keys: key})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()

	// An agent holding the key joins: this bounds the time the strangers
	// below are given to (wrongly) do the same.
	start := time.Now()
	i, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	newID := c.Agents[i].Node().ID()
	agenttest.WaitFor(t, "the keyed agent in the Raft configuration", 5*time.Second, func() bool { return inCluster(c, newID) })
	joined := time.Since(start)

	withOther, err := c.AddStranger(func(cfg *agent.Config) { cfg.Cluster.Keys = other })
	if err != nil {
		t.Fatal(err)
	}
	without, err := c.AddStranger(func(cfg *agent.Config) { cfg.Cluster.Keys = nil })
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(max(3*time.Second, 3*joined))
	for time.Now().Before(deadline) {
		for _, a := range []*agent.Agent{withOther, without} {
			if inCluster(c, a.Node().ID()) {
				t.Fatalf("%s, without the cluster's key, is in the cluster", a.Node().ID())
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, a := range []*agent.Agent{withOther, without} {
		for _, m := range a.Node().Members() {
			if m.Name != a.Node().ID() && m.State == "alive" {
				t.Fatalf("%s sees %s alive", a.Node().ID(), m.Name)
			}
		}
	}

	l, err := c.WaitForLeader(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Followers()[0]
	signer := keyring.NewSigner(key)
	stale := signer.WithClock(func() time.Time { return time.Now().Add(-10 * time.Second) })
	future := signer.WithClock(func() time.Time { return time.Now().Add(10 * time.Second) })
	for _, tc := range []struct {
		name       string
		s          *keyring.Signer
		method     string
		agent      int
		path, body string
		status     int
		mentions   string
	}{
		{"internal, no header", nil, "GET", l, "/internal/v1/read-index", "", 401, "missing"},
		{"internal, other key", keyring.NewSigner(other), "GET", l, "/internal/v1/read-index", "", 401, "bad signature"},
		{"internal, stale", stale, "GET", l, "/internal/v1/read-index", "", 401, "too old"},
		{"internal, future", future, "GET", l, "/internal/v1/read-index", "", 401, "future"},
		{"internal, unknown path", nil, "POST", f, "/internal/nothing", "", 401, "missing"},
		{"internal apply, no header", nil, "POST", l, "/internal/v1/apply", "x", 401, "missing"},
		{"internal call, no header", nil, "POST", l, "/internal/v1/call/health", "", 401, "missing"},
		{"internal, signed", signer, "GET", l, "/internal/v1/read-index", "", 200, ""},
		{"leave, no header", nil, "POST", f, "/admin/leave", "", 401, "missing"},
		{"leave, other key", keyring.NewSigner(other), "POST", f, "/admin/leave", "", 401, "bad signature"},
		{"remove-peer, no header", nil, "POST", f, "/admin/raft/remove-peer", `{"id":"nobody"}`, 401, "missing"},
		// Signed on a follower: checked there, then sent to the leader over the signed internal protocol.
		{"remove-peer, signed", signer, "POST", f, "/admin/raft/remove-peer", `{"id":"nobody"}`, 404, ""},
		{"public routes stay open", nil, "GET", f, "/admin/raft", "", 200, ""},
	} {
		status, msg := call(t, tc.s, tc.method, c.URL(tc.agent)+tc.path, tc.body)
		if status != tc.status || !strings.Contains(msg, tc.mentions) {
			t.Errorf("%s: %d %q, want %d mentioning %q", tc.name, status, msg, tc.status, tc.mentions)
		}
	}

	// A replayed request is refused even with its valid signature.
	req, _ := http.NewRequest("GET", c.URL(l)+"/internal/v1/read-index", nil)
	_ = signer.Sign(req)
	for n, want := range []int{200, 401} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("send %d of one signed request: %d, want %d", n+1, resp.StatusCode, want)
		}
	}

	// The keyed agent leaves with the key: it signs its own removal.
	if status, msg := call(t, signer, "POST", c.URL(i)+"/admin/leave", ""); status != 200 {
		t.Fatalf("signed leave: %d %s", status, msg)
	}
	// The leaver's own view is left out: the leader may stop replicating
	// to it before it applies its own removal, so its Raft configuration
	// can keep naming itself; what counts is that the others dropped it.
	leaver := c.Agents[i]
	c.Agents[i] = nil
	defer func() { c.Agents[i] = leaver }()
	var holders []string // who still held the leaver at the last look
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("still holding %s: %v", newID, holders)
		}
	})
	agenttest.WaitFor(t, "the leaver out of the Raft configuration", 15*time.Second, func() bool {
		holders = holders[:0]
		for j, a := range c.Agents {
			if a == nil {
				continue
			}
			for _, m := range a.Node().Members() {
				if m.Name == newID && m.State == "alive" {
					holders = append(holders, fmt.Sprintf("agent %d's gossip", j+1))
				}
			}
			for _, sv := range a.Node().Status().Servers {
				if sv.ID == newID {
					holders = append(holders, fmt.Sprintf("agent %d's Raft configuration", j+1))
				}
			}
		}
		return !slices.Contains(c.Voters(l), newID) && !inCluster(c, newID)
	})
}

func TestWithoutKeyAdminRoutesStayOpen(t *testing.T) {
	c, err := agenttest.Start(3, agenttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	l, err := c.WaitForLeader(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Followers()[0]
	if status, msg := call(t, nil, "POST", c.URL(f)+"/admin/raft/remove-peer", `{"id":"nobody"}`); status != 404 {
		t.Fatalf("remove-peer without a key: %d %s, want 404", status, msg)
	}
	if status, msg := call(t, nil, "GET", c.URL(l)+"/internal/v1/read-index", ""); status != 200 {
		t.Fatalf("read-index without a key: %d %s, want 200", status, msg)
	}
}

// allAlive reports whether every running agent sees every running agent
// alive in gossip.
func allAlive(c *agenttest.Cluster) bool {
	want := 0
	for _, a := range c.Agents {
		if a != nil {
			want++
		}
	}
	for _, a := range c.Agents {
		if a == nil {
			continue
		}
		alive := 0
		for _, m := range a.Node().Members() {
			if m.State == "alive" {
				alive++
			}
		}
		if alive != want {
			return false
		}
	}
	return true
}

// The rotation README.md describes: add the new key second, roll; move it
// first, roll; drop the old one, roll. The cluster keeps its leader and
// its members throughout, and the old key alone is then refused. (Going
// from the old key straight to the new one cuts the restarted agent off
// from gossip, so this test fails that way: checked by hand.)
func TestKeyRotationWithRollingRestarts(t *testing.T) {
	old, next := newKeys(t), newKeys(t)
	c, err := agenttest.Start(3, agenttest.Options{Keys: old})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	for step, keys := range [][][]byte{{old[0], next[0]}, {next[0], old[0]}, next} {
		for i := range c.Agents {
			c.Stop(i)
			if err := c.RestartWithKeys(i, keys); err != nil {
				t.Fatalf("step %d, agent %d: %v", step+1, i+1, err)
			}
			if _, err := c.WaitForLeader(10 * time.Second); err != nil {
				t.Fatalf("step %d, agent %d: %v", step+1, i+1, err)
			}
			agenttest.WaitFor(t, "every agent alive in every agent's gossip", 10*time.Second, func() bool { return allAlive(c) })
		}
	}
	if err := c.WaitForVoters(3, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	l, _ := c.WaitForLeader(5 * time.Second)
	if status, msg := call(t, keyring.NewSigner(old), "GET", c.URL(l)+"/internal/v1/read-index", ""); status != 401 {
		t.Fatalf("the retired key: %d %s, want 401", status, msg)
	}
	if status, msg := call(t, keyring.NewSigner(next), "GET", c.URL(l)+"/internal/v1/read-index", ""); status != 200 {
		t.Fatalf("the new key: %d %s, want 200", status, msg)
	}
}

// ACLs need a cluster key: without one the agents' own protocol is open,
// and tokens could be bypassed there.
func TestACLsNeedAClusterKey(t *testing.T) {
	for _, acl := range []api.ACLConfig{{Default: api.ACLDeny}, {Default: api.ACLAllow, InitialManagementToken: "0123456789abcdef0123"}} {
		cfg := agent.DefaultConfig()
		cfg.Cluster.NodeID, cfg.Cluster.DataDir, cfg.Cluster.BootstrapExpect = "a1", t.TempDir(), 1
		cfg.API.ACL = acl
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "cluster key") {
			t.Errorf("%+v without a key: %v", acl, err)
		}
		cfg.Cluster.Keys = newKeys(t)
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v with a key: %v", acl, err)
		}
	}
}
