// Package cluster wires one custodes agent into the registry cluster: the
// Raft node that replicates the fsm, the memberlist gossip that tells agents
// who is alive and where their Raft and HTTP endpoints are, bootstrapping,
// leadership (from Raft's NotifyCh, with leader-only work under a context
// that revocation cancels), membership reconciliation, and the read-index
// protocol behind linearizable reads on any agent.
//
// It knows nothing of the public HTTP API; the one internal call it makes
// between agents (asking the leader for a read index) goes to ReadIndexPath,
// which the api package mounts.
package cluster
