package cluster

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// grouper lets at most a few groups of proposals into Raft at once;
// proposals that arrive while those are out wait and enter together as the
// next group. Raft's leader loop appends whatever is queued in one batch
// (one fsync'd BoltDB transaction, one AppendEntries per follower), so
// under load fewer, larger batches cost every agent less CPU and disk per
// write; a lone proposal still enters at once.
type grouper struct {
	raft     applier
	timeout  time.Duration
	ch       chan *proposal
	slots    chan struct{}
	shutdown <-chan struct{}
}

// applier is what the grouper needs of Raft (*raft.Raft implements it).
type applier interface {
	Apply(cmd []byte, timeout time.Duration) raft.ApplyFuture
}

type proposal struct {
	data  []byte
	group *group
	fut   chan raft.ApplyFuture
}

// group releases its slot when the last of its proposals is answered.
type group struct {
	left  atomic.Int32
	slots chan struct{}
}

func (g *group) done() {
	if g.left.Add(-1) == 0 {
		<-g.slots
	}
}

func newGrouper(r applier, timeout time.Duration, groups, queue int, shutdown <-chan struct{}) *grouper {
	return &grouper{raft: r, timeout: timeout, ch: make(chan *proposal, queue), slots: make(chan struct{}, groups), shutdown: shutdown}
}

// apply proposes data and waits for Raft's answer. ok is false when the
// agent shut down before the proposal reached Raft.
func (g *grouper) apply(data []byte) (f raft.ApplyFuture, ok bool) {
	if len(g.ch) == 0 {
		// Nothing waits and a slot is free: a group of one, proposed from
		// here, sparing the hand-off to the loop.
		select {
		case g.slots <- struct{}{}:
			f = g.raft.Apply(data, g.timeout)
			f.Error()
			<-g.slots
			return f, true
		default:
		}
	}
	p := &proposal{data: data, fut: make(chan raft.ApplyFuture, 1)}
	select {
	case g.ch <- p:
	case <-g.shutdown:
		return nil, false
	}
	select {
	case f = <-p.fut:
	case <-g.shutdown:
		return nil, false
	}
	f.Error() // wait for the outcome before freeing the group's slot
	p.group.done()
	return f, true
}

// run is the loop that forms groups; it ends at shutdown.
func (g *grouper) run() {
	var batch []*proposal
	for {
		var first *proposal
		select {
		case first = <-g.ch:
		case <-g.shutdown:
			return
		}
		select {
		case g.slots <- struct{}{}: // wait for a free slot; proposals pile up meanwhile
		case <-g.shutdown:
			return
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < cap(g.ch) {
			select {
			case p := <-g.ch:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		grp := &group{slots: g.slots}
		grp.left.Store(int32(len(batch)))
		for _, p := range batch {
			p.group = grp
			p.fut <- g.raft.Apply(p.data, g.timeout)
		}
		clear(batch)
	}
}
