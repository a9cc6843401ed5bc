package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/google/uuid"
	"github.com/hashicorp/raft"
)

// Applied is a proposal's successful outcome: the FSM's response, the
// index of the entry that carried it, and the leader that applied it.
type Applied struct {
	Resp  any
	Index uint64
	By    string
}

// Propose applies a typed command wherever the leader is and waits until
// the leader has applied it. It validates the command first (so nothing
// invalid leaves this agent); on a follower it sends the command, without
// the values only the leader decides, to the leader, which decodes,
// validates, checks and stamps it again before proposing. While leadership
// moves it retries, only when the command certainly was not applied, until
// ctx or LeaderWait ends. A business error from the FSM (fsm.ErrNotFound,
// fsm.ErrConflict...) comes back as the error, with the index.
func (n *Node) Propose(ctx context.Context, t fsm.MessageType, req any) (Applied, error) {
	if err := n.fsm.Validate(t, req); err != nil {
		return Applied{}, err
	}
	var data []byte // encoded once for the leader, on first need
	return retryLeader(ctx, n, func(ctx context.Context) (Applied, error) {
		if n.IsLeader() {
			return n.applyLocal(ctx, t, req)
		}
		if data == nil {
			var err error
			if data, err = fsm.Encode(t, req); err != nil {
				return Applied{}, err
			}
		}
		res, ok := n.remote.apply(data)
		if !ok {
			return Applied{}, ErrShutdown
		}
		return outcome(res)
	})
}

// applyLocal proposes a validated command on this leader: it answers from
// the leader's state what would certainly fail (so no entry is appended),
// stamps what only the leader decides (ids, times), and hands the command
// to the grouper.
func (n *Node) applyLocal(ctx context.Context, t fsm.MessageType, req any) (Applied, error) {
	if !n.IsLeader() {
		return Applied{}, ErrNotLeader
	}
	// The state answers for itself only once this leader has applied
	// everything committed before its term.
	if err := n.waitReady(ctx); err != nil {
		return Applied{}, err
	}
	if err := n.fsm.Precheck(t, req); err != nil {
		return Applied{}, err
	}
	if s, ok := req.(fsm.Stamper); ok {
		s.Stamp(time.Now().UTC(), uuid.NewString)
	}
	data, err := fsm.Encode(t, req)
	if err != nil {
		return Applied{}, err
	}
	var res applyResult
	if n.grouper != nil {
		var ok bool
		if res, ok = n.grouper.apply(data); !ok {
			return Applied{}, ErrShutdown
		}
	} else {
		res = raftSink{raft: n.raft, timeout: n.cfg.ApplyTimeout, id: n.cfg.NodeID, obs: n.obs, shutdown: n.shutdownCh}.send([][]byte{data})()[0]
	}
	return outcome(res)
}

// outcome turns a grouper's result into Propose's answer.
func outcome(res applyResult) (Applied, error) {
	if res.err != nil {
		return Applied{}, raftError(res.err)
	}
	if err, ok := res.resp.(error); ok {
		return Applied{Index: res.index, By: res.by}, err
	}
	return Applied{Resp: res.resp, Index: res.index, By: res.by}, nil
}

// waitReady waits until this leader's Barrier has returned, at most
// LeaderWait: a leader that loses leadership first never gets ready.
func (n *Node) waitReady(ctx context.Context) error {
	n.leaderMu.Lock()
	ready := n.readyCh
	n.leaderMu.Unlock()
	select {
	case <-ready:
		return nil
	default:
	}
	t := time.NewTimer(n.cfg.LeaderWait)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-t.C:
		return ErrNotLeader
	case <-ctx.Done():
		return ErrTimeout
	case <-n.shutdownCh:
		return ErrShutdown
	}
}

// raftError maps hashicorp/raft errors to custodes' sentinels.
func raftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost):
		return ErrLeadershipLost
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrShutdown
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return ErrTimeout
	}
	return err
}

// retryLeader calls f until it returns anything but ErrNotLeader or
// ErrNoLeader (the two answers that mean "certainly did not happen"), for
// at most LeaderWait, pausing a little (with jitter, so that agents that
// lost the same leader do not retry in step) between tries. The first try
// runs under the caller's context: most calls need no second, and a
// deadline per call costs a timer on the write path.
func retryLeader[T any](ctx context.Context, n *Node, f func(ctx context.Context) (T, error)) (T, error) {
	v, err := f(ctx)
	if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrNoLeader) {
		return v, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaderWait)
	defer cancel()
	for {
		t := time.NewTimer(10*time.Millisecond + rand.N(20*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			var zero T
			return zero, ErrNoLeader
		case <-n.shutdownCh:
			t.Stop()
			var zero T
			return zero, ErrShutdown
		case <-t.C:
		}
		v, err := f(ctx)
		if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrNoLeader) {
			return v, err
		}
	}
}
