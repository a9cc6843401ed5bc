package cluster

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Observer is told what this agent's cluster layer does as it does it:
// the api's Prometheus metrics implement it. Its methods must not block.
type Observer interface {
	// Committed: a Raft entry this leader proposed, carrying commands
	// commands (more than one for a batch entry), was committed and
	// applied took after it was handed to Raft; failed when Raft refused
	// or lost it.
	Committed(commands int, took time.Duration, failed bool)
	// Forwarded: this follower sent commands commands to the leader in
	// one call of the agents' protocol.
	Forwarded(commands int)
	// LeaderChanged: this agent saw the cluster's leader change; leader
	// is the new one's id, "" when the cluster has none.
	LeaderChanged(leader string)
}

// observer holds the Observer, set once the metrics exist (after the
// node started); measurements before that are dropped.
type observer struct{ o atomic.Pointer[Observer] }

func (ob *observer) get() Observer {
	if ob == nil {
		return nil
	}
	if p := ob.o.Load(); p != nil {
		return *p
	}
	return nil
}

func (ob *observer) committed(commands int, start time.Time, err error) {
	if o := ob.get(); o != nil {
		o.Committed(commands, time.Since(start), err != nil)
	}
}

// SetObserver makes o the node's observer.
func (n *Node) SetObserver(o Observer) { n.obs.o.Store(&o) }

// watchLeader tells the observer of every leader change Raft sees, until
// shutdown.
func (n *Node) watchLeader() {
	defer n.wg.Done()
	ch := make(chan raft.Observation, 16)
	ob := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(ob)
	defer n.raft.DeregisterObserver(ob)
	for {
		select {
		case o := <-ch:
			if lo, ok := o.Data.(raft.LeaderObservation); ok {
				if obs := n.obs.get(); obs != nil {
					obs.LeaderChanged(string(lo.LeaderID))
				}
			}
		case <-n.shutdownCh:
			return
		}
	}
}
