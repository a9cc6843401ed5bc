package cluster

import "errors"

// Sentinel errors, matched with errors.Is and mapped to HTTP status codes in
// one place (the api package's error handler).
var (
	// ErrNotLeader: this agent is not the leader; the call must go to it.
	ErrNotLeader = errors.New("not the leader")
	// ErrNoLeader: no leader is known within the wait bound.
	ErrNoLeader = errors.New("no cluster leader")
	// ErrLeadershipLost: leadership was lost while a write was in flight;
	// the write may or may not have been committed.
	ErrLeadershipLost = errors.New("leadership lost while committing; the outcome is unknown")
	// ErrShutdown: the agent is shutting down.
	ErrShutdown = errors.New("agent is shutting down")
	// ErrUnknownPeer: the named server is not in the Raft configuration.
	ErrUnknownPeer = errors.New("unknown raft peer")
	// ErrUnsafe: the membership change would cost the cluster its quorum.
	ErrUnsafe = errors.New("unsafe membership change")
	// ErrTimeout: the cluster did not answer in time.
	ErrTimeout = errors.New("timed out waiting for the cluster")
)

// ErrTooLarge: a request to the internal protocol exceeds its limits.
var ErrTooLarge = errors.New("request too large")

// ErrNested: a batch entry was offered where a command belongs. Batches are
// made by the leader's grouper alone and never nest.
var ErrNested = errors.New("a batch entry cannot be proposed as a command")

// ErrForward: the leader was reached but did not answer in full; a write
// may or may not have been applied.
var ErrForward = errors.New("forwarding to the leader failed")

// ErrUnauthenticated: a call between agents that carries no proof of the
// cluster key asked for what only an authenticated agent may do.
var ErrUnauthenticated = errors.New("the caller is not an authenticated agent")
