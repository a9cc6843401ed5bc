package agenttest

import (
	"errors"
	"fmt"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/keyring"
)

// AddStranger starts an agent that tries to join the cluster's gossip pool
// (no bootstrap) but is not one of c.Agents: Leader, Followers and the
// waits ignore it, so a test can start one that must stay out (another
// cluster key, or none) and still use the harness on the cluster.
// configure may change its config (its keys, say) before it starts; the
// cluster's Shutdown kills it.
func (c *Cluster) AddStranger(configure func(*agent.Config)) (*agent.Agent, error) {
	i := len(c.Agents) + len(c.strangers)
	cfg := c.config(i)
	cfg.Cluster.NodeID = fmt.Sprintf("stranger%d", len(c.strangers)+1)
	cfg.Cluster.DataDir = fmt.Sprintf("%s/%s", c.root, cfg.Cluster.NodeID)
	for _, a := range c.Agents {
		if a != nil {
			cfg.Cluster.Join = append(cfg.Cluster.Join, a.Node().GossipAddr())
		}
	}
	cfg.Cluster.BootstrapExpect = 0
	if configure != nil {
		configure(&cfg)
	}
	a, err := agent.Start(cfg)
	if err != nil {
		return nil, err
	}
	c.strangers = append(c.strangers, a)
	return a, nil
}

// RestartWithKeys starts stopped agent i again as Restart does, with
// another cluster key list: one step of a rolling key rotation.
func (c *Cluster) RestartWithKeys(i int, keys [][]byte) error {
	if c.Agents[i] != nil {
		return errors.New("agent is running")
	}
	c.cfgs[i].Cluster.Keys = keys
	return c.restart(i, false)
}

// NewKeys returns a fresh cluster key list of one key, for Options.Keys.
func NewKeys() [][]byte {
	s, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	k, err := keyring.Parse(s)
	if err != nil {
		panic(err)
	}
	return k
}
