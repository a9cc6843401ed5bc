package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster/gossip"
)

// AllAppliedWait bounds WaitAllApplied when the caller's context allows
// longer: a peer that is alive to gossip but stuck must not hold a
// client's answer for ever.
const AllAppliedWait = 2 * time.Second

// allAppliedPoll is how often a lagging peer is asked again.
const allAppliedPoll = 10 * time.Millisecond

// WaitAllApplied waits until every live server in the Raft configuration
// has applied index to its FSM, so that what the entry changed holds on
// every agent a client may ask next (a deleted user's token is refused
// everywhere, not only where the write was made). This agent waits on
// its own replica; peers are asked for their applied index over the
// internal protocol. Servers gossip does not report alive are skipped:
// they serve nobody, and catch up before they do again. It gives up after
// AllAppliedWait (or when ctx ends) and then names the servers still
// behind; the write itself has been applied either way.
func (n *Node) WaitAllApplied(ctx context.Context, index uint64) error {
	ctx, cancel := context.WithTimeout(ctx, AllAppliedWait)
	defer cancel()
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft configuration: %w", err)
	}
	var (
		mu     sync.Mutex
		behind []string
		wg     sync.WaitGroup
	)
	lag := func(id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		behind = append(behind, fmt.Sprintf("%s (%v)", id, err))
	}
	for _, s := range f.Configuration().Servers {
		id := string(s.ID)
		if id == n.cfg.NodeID {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := n.fsm.WaitForIndex(ctx, index); err != nil {
					lag(id, err)
				}
			}()
			continue
		}
		if m, ok := n.gossip.Member(id); !ok || m.State != gossip.StateAlive {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.waitPeerApplied(ctx, id, index); err != nil {
				lag(id, err)
			}
		}()
	}
	wg.Wait()
	if len(behind) > 0 {
		slices.Sort(behind)
		return fmt.Errorf("%w: index %d not applied on %s", ErrTimeout, index, strings.Join(behind, ", "))
	}
	return nil
}

// waitPeerApplied polls one peer's status until its FSM has applied
// index. The peer's HTTP address is read again on each try: it arrives
// through gossip and may change.
func (n *Node) waitPeerApplied(ctx context.Context, id string, index uint64) error {
	t := time.NewTicker(allAppliedPoll)
	defer t.Stop()
	for {
		m, ok := n.gossip.Member(id)
		switch {
		case !ok || m.State != gossip.StateAlive:
			return nil // died meanwhile: see WaitAllApplied
		case ok && m.HTTP != "":
			if st, ok := n.probeStatus(ctx, m.HTTP); ok && st.FSMIndex >= index {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.shutdownCh:
			return ErrShutdown
		case <-t.C:
		}
	}
}
