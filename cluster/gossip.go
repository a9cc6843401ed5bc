package cluster

import (
	"github.com/custodes/custodes/cluster/gossip"
	"github.com/hashicorp/go-hclog"
)

// RoleRegistry marks a gossip member that is a registry agent (a Raft
// server).
const RoleRegistry = gossip.RoleRegistry

// Member is a gossip member as this agent sees it.
type Member = gossip.Member

// startGossip joins this agent to the gossip pool (package gossip), which
// any process may join without Raft.
func startGossip(cfg *Config, self gossip.Meta, logger hclog.Logger) (*gossip.Pool, error) {
	return gossip.Start(gossip.Config{
		Name: cfg.NodeID, BindAddr: cfg.GossipAddr,
		GossipInterval: cfg.GossipInterval, ProbeInterval: cfg.ProbeInterval,
		ProbeTimeout: cfg.ProbeTimeout, SuspicionMult: cfg.SuspicionMult,
		Keys: cfg.Keys, Logger: logger,
	}, self)
}
