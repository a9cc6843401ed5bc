// Package cluster wires one custodes agent into the registry cluster: the
// Raft node that replicates the fsm, the memberlist gossip that tells agents
// who is alive and where their Raft and HTTP endpoints are, bootstrapping,
// leadership (from Raft's NotifyCh, with leader-only work under a context
// that revocation cancels), membership reconciliation, and the read-index
// protocol behind linearizable reads on any agent.
//
// It owns the agents' own protocol, both halves side by side
// (rpc_server.go, rpc_client.go, wire.go): a follower's typed commands to
// the leader (Propose), read indexes, status and liveness probes, and
// leader operations other packages register (HandleLeaderOp, CallLeader).
// The api package mounts InternalHandler under /internal/; cluster knows
// nothing else of the public HTTP API.
//
// Files: node.go (lifecycle), apply.go (Propose and the leader's checks),
// group.go (the one batcher), status.go (leader, status, health, ready),
// read.go (read index), leader.go, membership.go, reconcile.go, leave.go,
// gossip.go, tls.go (Raft over TLS, https to peers, the internal routes'
// certificate check), snapshot.go (operators' save and restore),
// diverge.go (an agent left holding a restore the cluster did not commit
// finds out, is demoted and restarts empty), bootstrap and logging.
package cluster
