package cluster

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster/gossip"
	"github.com/hashicorp/raft"
)

// monitorLeadership turns Raft's leadership notifications into
// establishLeadership / revokeLeadership calls, mirror images of each other.
// Leader-only work runs under a context that revocation cancels.
func (n *Node) monitorLeadership() {
	defer n.wg.Done()
	var stop func() // non-nil while leader: cancels leader work and waits for it
	establish := func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			n.leaderLoop(ctx)
		}()
		stop = func() { cancel(); <-done }
	}
	revoke := func() {
		if stop == nil {
			return
		}
		stop()
		stop = nil
		n.leaderMu.Lock()
		n.readyCh = make(chan struct{})
		n.leaderMu.Unlock()
		n.cfg.Logger.Info("leadership revoked", "node", n.cfg.NodeID)
	}
	for {
		select {
		case isLeader := <-n.notifyCh:
			if isLeader && stop == nil {
				establish()
			} else if !isLeader {
				revoke()
			}
		case <-n.shutdownCh:
			revoke()
			return
		}
	}
}

// leaderLoop is the leader's work for one term: a Barrier so the FSM holds
// everything committed before this term (only then may it serve read
// indexes), a full reconcile, then a reconcile per membership event and
// periodically.
func (n *Node) leaderLoop(ctx context.Context) {
	n.cfg.Logger.Info("leadership established", "node", n.cfg.NodeID)
	for {
		if err := n.await(n.raft.Barrier(n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout); err == nil {
			break
		} else if ctx.Err() != nil {
			return
		} else {
			n.cfg.Logger.Warn("barrier failed, retrying", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.leaderMu.Lock()
	select {
	case <-n.readyCh:
	default:
		close(n.readyCh)
	}
	n.leaderMu.Unlock()

	var wg sync.WaitGroup
	n.tasksMu.Lock()
	n.term = &leaderTerm{ctx: ctx, wg: &wg}
	for _, task := range n.leaderTasks {
		n.term.start(task)
	}
	n.tasksMu.Unlock()
	defer func() {
		n.tasksMu.Lock()
		n.term = nil
		n.tasksMu.Unlock()
		wg.Wait()
	}()

	m := newMembership(n)
	n.membership.Store(m)
	defer n.membership.Store(nil)
	m.reconcile(ctx)
	t := time.NewTicker(n.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.gossip.Events():
			m.reconcile(ctx)
		case <-t.C:
			m.reconcile(ctx)
		}
	}
}

// bootstrapLoop bootstraps the cluster once BootstrapExpect registry agents
// with the same expectation are alive in gossip and none of them has Raft
// state. Every agent that sees the same set bootstraps with the identical
// configuration (sorted by id), which Raft treats as one bootstrap; an agent
// that sees a bootstrapped peer leaves it to the leader to add it.
func (n *Node) bootstrapLoop() {
	defer n.wg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.shutdownCh:
			return
		case <-t.C:
		}
		if n.raft.State() == raft.Leader || n.raft.LastIndex() > 0 {
			n.gossip.Update(func(m *gossip.Meta) { m.Bootstrapped = true })
			return
		}
		var servers []raft.Server
		other := false
		for _, m := range n.gossip.Members() {
			if m.Role != RoleRegistry || m.State != gossip.StateAlive {
				continue
			}
			if m.Bootstrapped {
				other = true
				break
			}
			if m.Expect != n.cfg.BootstrapExpect {
				n.cfg.Logger.Warn("peer expects a different cluster size; not bootstrapping",
					"peer", m.Name, "peer_expect", m.Expect, "expect", n.cfg.BootstrapExpect)
				servers = nil
				break
			}
			servers = append(servers, raft.Server{ID: raft.ServerID(m.Name), Address: raft.ServerAddress(m.Raft), Suffrage: raft.Voter})
		}
		if other {
			n.cfg.Logger.Info("a peer already has cluster state; waiting to be added")
			return
		}
		if len(servers) < n.cfg.BootstrapExpect {
			continue
		}
		sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
		err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
		if err != nil && err != raft.ErrCantBootstrap {
			n.cfg.Logger.Error("bootstrap failed", "error", err)
			continue
		}
		n.cfg.Logger.Info("bootstrapped cluster", "servers", len(servers))
		n.gossip.Update(func(m *gossip.Meta) { m.Bootstrapped = true })
		return
	}
}

// retryJoin keeps trying the --join addresses until one answers.
func (n *Node) retryJoin() {
	defer n.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.shutdownCh:
			return
		case <-t.C:
			if err := n.gossip.Join(n.cfg.Join); err == nil {
				return
			}
		}
	}
}

// leaderTerm is the context and wait group of one term's leader tasks.
type leaderTerm struct {
	ctx context.Context
	wg  *sync.WaitGroup
}

func (t *leaderTerm) start(task func(context.Context)) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		task(t.ctx)
	}()
}
