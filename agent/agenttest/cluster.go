// Package agenttest runs N real custodes agents in one process on loopback
// with short timings, for Go tests and godog steps alike. Ports come from
// :0; a restarted agent comes back at the addresses it had.
package agenttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fileserver"
	"github.com/custodes/custodes/tlsutil"
)

// Cluster is a set of in-process agents. Agents[i] is nil while i is down.
type Cluster struct {
	Agents []*agent.Agent
	// strangers are agents started apart (AddStranger), stopped with the
	// cluster but not counted in it.
	strangers []*agent.Agent
	cfgs      []agent.Config
	root      string
	opts      Options
	out       io.Writer
	ca        *tlsutil.CA // the TLS cluster's CA, nil without TLS

	// File servers (fileservers.go): fileServers[i] is nil while i is
	// down; fsAddrs[i] its last HTTP and gossip addresses.
	fileServers []*fileserver.Server
	fsCfgs      []fileserver.Config
	fsAddrs     [][2]string
}

// Options tune a test cluster.
type Options struct {
	// LogOutput receives every agent's logs (default: discarded; set
	// CUSTODES_TEST_LOG=1 to see them on stderr).
	LogOutput io.Writer
	// Configure, if set, may change each agent's config before it starts.
	Configure func(i int, c *agent.Config)
	// Keys, if set, is every agent's cluster key list (keyring.Parse);
	// Configure may still change one agent's.
	Keys [][]byte
	// TLS starts every agent with TLS: a CA and one certificate per agent
	// are generated in the cluster's directory (tls.go).
	TLS bool
	// FileServers is how many in-process file servers Start brings up
	// once the agents have a leader (fileservers.go).
	FileServers int
	// FileServerConfigure, if set, may change file server i's config
	// before it starts.
	FileServerConfigure func(i int, c *fileserver.Config)
}

// Start starts n agents that bootstrap one cluster and waits for a leader.
func Start(n int, opts Options) (*Cluster, error) {
	root, err := os.MkdirTemp("", "custodes-test-")
	if err != nil {
		return nil, err
	}
	out := opts.LogOutput
	if out == nil {
		out = io.Discard
		if os.Getenv("CUSTODES_TEST_LOG") != "" {
			out = os.Stderr
		}
	}
	c := &Cluster{Agents: make([]*agent.Agent, n), cfgs: make([]agent.Config, n), root: root, opts: opts, out: out}
	if err := c.startTLS(); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	for i := range n {
		cfg := c.config(i)
		cfg.Cluster.BootstrapExpect = n
		if i > 0 {
			cfg.Cluster.Join = []string{c.Agents[0].Node().GossipAddr()}
		}
		if opts.Configure != nil {
			opts.Configure(i, &cfg)
		}
		a, err := agent.Start(cfg)
		if err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("start agent %d: %w", i+1, err)
		}
		c.Agents[i] = a
		c.cfgs[i] = a.Config()
	}
	if _, err := c.WaitForLeader(30 * time.Second); err != nil {
		c.Shutdown()
		return nil, err
	}
	if err := c.startFileServers(); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// config returns agent i's test configuration.
func (c *Cluster) config(i int) agent.Config {
	cfg := agent.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.Cluster = cluster.TestConfig()
	cfg.Cluster.NodeID = fmt.Sprintf("node%d", i+1)
	cfg.Cluster.DataDir = fmt.Sprintf("%s/node%d", c.root, i+1)
	cfg.Cluster.Logger = slog.New(slog.NewTextHandler(c.out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Cluster.FSM.MinCheckInterval = 20 * time.Millisecond
	cfg.Cluster.FSM.MinDeregisterAfter = 100 * time.Millisecond
	cfg.Health.Tick = 50 * time.Millisecond
	cfg.Health.RectifyTimeout = time.Second
	cfg.Cluster.Keys = c.opts.Keys
	cfg.TLS = c.agentTLS(cfg.Cluster.NodeID)
	return cfg
}

// Add starts a new agent with a fresh id and data dir that joins the
// running cluster (no bootstrap), and returns its index.
func (c *Cluster) Add() (int, error) {
	i := len(c.Agents)
	cfg := c.config(i)
	for _, a := range c.Agents {
		if a != nil {
			cfg.Cluster.Join = append(cfg.Cluster.Join, a.Node().GossipAddr())
		}
	}
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	cfg.Cluster.BootstrapExpect = 0
	a, err := agent.Start(cfg)
	if err != nil {
		return -1, err
	}
	c.Agents = append(c.Agents, a)
	c.cfgs = append(c.cfgs, a.Config())
	return i, nil
}

// Voters returns the ids of the voters in agent i's Raft configuration.
func (c *Cluster) Voters(i int) []string {
	var out []string
	for _, s := range c.Agents[i].Node().Status().Servers {
		if s.Suffrage == "Voter" {
			out = append(out, s.ID)
		}
	}
	return out
}

// Root is the cluster's directory: every agent's and file server's data
// dir is under it.
func (c *Cluster) Root() string { return c.root }

// URL is agent i's base URL (https in a TLS cluster).
func (c *Cluster) URL(i int) string { return c.scheme() + c.cfgs[i].HTTPAddr }

// Leader returns the index of the agent every live agent agrees leads, or -1.
func (c *Cluster) Leader() int {
	found := -1
	for _, a := range c.Agents {
		if a == nil {
			continue
		}
		l, ok := a.Node().Leader()
		if !ok {
			return -1
		}
		j := c.indexOf(l.ID)
		if found != -1 && j != found {
			return -1
		}
		found = j
	}
	if found >= 0 && c.Agents[found] == nil {
		return -1
	}
	return found
}

func (c *Cluster) indexOf(id string) int {
	for i, cfg := range c.cfgs {
		if cfg.Cluster.NodeID == id {
			return i
		}
	}
	return -1
}

// Followers returns the indexes of live agents that are not the leader.
func (c *Cluster) Followers() []int {
	l := c.Leader()
	var out []int
	for i, a := range c.Agents {
		if a != nil && i != l {
			out = append(out, i)
		}
	}
	return out
}

// WaitForLeader polls until every live agent agrees on a live leader that
// can serve reads, and returns its index.
func (c *Cluster) WaitForLeader(timeout time.Duration) (int, error) {
	var l int
	err := poll(timeout, func() bool {
		l = c.Leader()
		if l < 0 {
			return false
		}
		// A second, not less: on a starved machine (race detector, two
		// cores shared with other suites) the heartbeat round a read index
		// needs can take several hundred milliseconds, and a shorter
		// bound reads as "no leader" for as long as the load lasts.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Agents[l].Node().ReadIndex(ctx)
		return err == nil
	})
	if err != nil {
		return -1, fmt.Errorf("no leader within %s", timeout)
	}
	return l, nil
}

// WaitForIndex polls until every live agent has applied index.
func (c *Cluster) WaitForIndex(index uint64, timeout time.Duration) error {
	return poll(timeout, func() bool {
		for _, a := range c.Agents {
			if a != nil && a.Node().FSM().AppliedIndex() < index {
				return false
			}
		}
		return true
	})
}

// WaitForVoters polls until the leader's Raft configuration has n voters.
func (c *Cluster) WaitForVoters(n int, timeout time.Duration) error {
	return poll(timeout, func() bool {
		l := c.Leader()
		if l < 0 {
			return false
		}
		return len(c.Voters(l)) == n
	})
}

// Kill stops agent i abruptly, as kill -9 would.
func (c *Cluster) Kill(i int) {
	if a := c.Agents[i]; a != nil {
		a.Kill()
		c.Agents[i] = nil
	}
}

// Stop shuts agent i down gracefully.
func (c *Cluster) Stop(i int) {
	if a := c.Agents[i]; a != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
		c.Agents[i] = nil
	}
}

// Restart starts agent i again with its data dir and addresses.
func (c *Cluster) Restart(i int) error { return c.restart(i, false) }

// RestartElsewhere starts agent i again with its data dir and node id but
// new addresses (fresh ports), as a machine that came back with a new IP.
func (c *Cluster) RestartElsewhere(i int) error { return c.restart(i, true) }

func (c *Cluster) restart(i int, move bool) error {
	if c.Agents[i] != nil {
		return errors.New("agent is running")
	}
	cfg := c.cfgs[i]
	if move {
		cfg.HTTPAddr, cfg.Cluster.HTTPAddr = "127.0.0.1:0", ""
		cfg.Cluster.RaftAddr, cfg.Cluster.GossipAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	var others []string
	for j, a := range c.Agents {
		if a != nil && j != i {
			others = append(others, a.Node().GossipAddr())
		}
	}
	cfg.Cluster.Join = others
	a, err := agent.Start(cfg)
	if err != nil {
		return err
	}
	c.Agents[i] = a
	c.cfgs[i] = a.Config()
	return nil
}

// Shutdown stops every agent and removes their data.
func (c *Cluster) Shutdown() {
	c.shutdownFileServers()
	for i := range c.Agents {
		c.Kill(i)
	}
	for _, a := range c.strangers {
		a.Kill()
	}
	c.strangers = nil
	_ = os.RemoveAll(c.root)
}

// poll calls cond every 10ms until it holds or timeout passes.
func poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitFor polls cond every 20ms and fails the test if it does not hold
// within timeout: the one way tests wait on a condition.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if err := poll(timeout, cond); err != nil {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// LeaderURL waits (up to 10 s) until the agents agree on a leader that
// serves reads and returns its URL; the test fails otherwise. Under a
// loaded machine an election can leave the cluster briefly without one.
func (c *Cluster) LeaderURL(t testing.TB) string {
	t.Helper()
	l, err := c.WaitForLeader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c.URL(l)
}

// Resend makes a write as a client on a loaded machine should: it calls
// send with the leader of the moment and, while the answer is 503 (no
// leader, or leadership lost so that the outcome is unknown), waits for a
// leader and sends again, at most tries times in all. It returns the last
// status and whether that answer came from a retry (then a conflict may
// mean the first attempt was applied: the caller checks).
func (c *Cluster) Resend(tries int, send func(leader int) (int, error)) (status int, retried bool, err error) {
	for try := 0; ; try++ {
		l, err := c.WaitForLeader(30 * time.Second)
		if err != nil {
			return status, try > 0, err
		}
		status, err = send(l)
		if err != nil || status != http.StatusServiceUnavailable || try+1 >= tries {
			return status, try > 0, err
		}
	}
}
