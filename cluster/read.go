package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// verifyLoop coalesces leadership checks: every request queued while one
// VerifyLeader round is pending is answered by the next round, which starts
// after they were queued (so after each caller read its index). One round
// of heartbeats then serves any number of concurrent reads.
func (n *Node) verifyLoop() {
	defer n.wg.Done()
	for {
		var batch []chan error
		select {
		case <-n.shutdownCh:
			return
		case ch := <-n.verifyCh:
			batch = append(batch, ch)
		}
	drain:
		for {
			select {
			case ch := <-n.verifyCh:
				batch = append(batch, ch)
			default:
				break drain
			}
		}
		err := n.await(n.raft.VerifyLeader(), n.cfg.LeaderWait)
		for _, ch := range batch {
			ch <- err
		}
	}
}

// ReadIndex is the leader's half of a linearizable read: once this leader
// has applied everything from earlier terms, it notes its applied index,
// confirms with a quorum that it is still the leader, and returns the index.
// Every write acknowledged before the call is at or below it.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	if !n.IsLeader() {
		return 0, ErrNotLeader
	}
	n.leaderMu.Lock()
	ready := n.readyCh
	n.leaderMu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		return 0, ErrTimeout
	case <-n.shutdownCh:
		return 0, ErrShutdown
	}
	index := n.fsm.AppliedIndex()
	reply := make(chan error, 1)
	select {
	case n.verifyCh <- reply:
	case <-ctx.Done():
		return 0, ErrTimeout
	}
	select {
	case err := <-reply:
		if err != nil {
			return 0, err
		}
		return index, nil
	case <-ctx.Done():
		return 0, ErrTimeout
	}
}

// ConsistentRead makes the local replica fit for a linearizable read: it
// obtains a read index (locally on the leader, from the leader otherwise)
// and waits until this replica has applied that far. It returns the index.
func (n *Node) ConsistentRead(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaderWait)
	defer cancel()
	for {
		if n.diverged.Load() {
			return 0, ErrDiverged
		}
		index, err := n.readIndexOnce(ctx)
		if errors.Is(err, ErrDiverged) {
			return 0, err
		}
		if err == nil {
			if err := n.fsm.WaitForIndex(ctx, index); err != nil {
				return 0, ErrTimeout
			}
			return index, nil
		}
		// Leadership moved between looking it up and asking: try again
		// until the bound, then report that no leader answered.
		select {
		case <-ctx.Done():
			if errors.Is(err, ErrNotLeader) || errors.Is(err, ErrNoLeader) {
				return 0, ErrNoLeader
			}
			return 0, err
		case <-n.shutdownCh:
			return 0, ErrShutdown
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (n *Node) readIndexOnce(ctx context.Context) (uint64, error) {
	if n.IsLeader() {
		return n.ReadIndex(ctx)
	}
	// What this follower applied, read before the leader reads its own:
	// ahead of the leader's index, this state is not the cluster's.
	before := n.fsm.AppliedIndex()
	index, err := n.readIndexRemote(ctx)
	if err != nil {
		return 0, err
	}
	return index, n.checkReadIndex(before, index)
}

// await waits for a Raft future, but never past shutdown or timeout: a
// request Raft had queued when it shut down is never answered, and waiting
// on it would hang the agent's own shutdown.
func (n *Node) await(f raft.Future, timeout time.Duration) error {
	if err := awaitFuture(f, n.shutdownCh, timeout); err != nil {
		return raftError(err) // our own sentinels pass through
	}
	return nil
}

// awaitFuture waits for f's answer, but never past shutdown (ErrShutdown)
// or timeout (ErrTimeout; 0: none). Raft's own errors come back as they
// are.
func awaitFuture(f raft.Future, shutdown <-chan struct{}, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-done:
		return err
	case <-shutdown:
		return ErrShutdown
	case <-expired:
		return ErrTimeout
	}
}
