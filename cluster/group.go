package cluster

import (
	"fmt"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/hashicorp/raft"
)

// grouper lets at most a few groups of proposals into Raft at once;
// proposals that arrive while those are out wait and enter together as the
// next group, packed into one batch entry (fsm.BatchRequestType). Raft then
// stores, sends and applies one entry (one fsync'd BoltDB commit, one
// AppendEntries per follower) where it would have handled many, so under
// load every agent spends less CPU and disk per write; a lone proposal
// still enters at once, as a plain entry.
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

// Limits of one batch entry: a group larger than this becomes several.
const (
	maxBatchCommands = 256
	maxBatchBytes    = 1 << 20
)

// applyResult is one proposal's outcome: Raft's error, or the FSM's
// response (a result such as *catalog.Result, or a business error) at the entry's index.
type applyResult struct {
	resp  any
	index uint64
	err   error
}

// applyNow proposes data as one entry and waits for its outcome.
func applyNow(r applier, data []byte, timeout time.Duration) applyResult {
	f := r.Apply(data, timeout)
	if err := f.Error(); err != nil {
		return applyResult{err: err}
	}
	return applyResult{resp: f.Response(), index: f.Index()}
}

type proposal struct {
	data   []byte
	result chan applyResult
}

func newGrouper(r applier, timeout time.Duration, groups, queue int, shutdown <-chan struct{}) *grouper {
	return &grouper{raft: r, timeout: timeout, ch: make(chan *proposal, queue), slots: make(chan struct{}, groups), shutdown: shutdown}
}

// apply proposes data and waits for its outcome. ok is false when the
// agent shut down first.
func (g *grouper) apply(data []byte) (res applyResult, ok bool) {
	if len(g.ch) == 0 {
		// Nothing waits and a slot is free: a group of one, proposed from
		// here, sparing the hand-offs to the loop.
		select {
		case g.slots <- struct{}{}:
			res = applyNow(g.raft, data, g.timeout)
			<-g.slots
			return res, true
		default:
		}
	}
	p := &proposal{data: data, result: make(chan applyResult, 1)}
	select {
	case g.ch <- p:
	default:
		// The queue is full: wait as long as Raft would for its own.
		t := time.NewTimer(g.timeout)
		defer t.Stop()
		select {
		case g.ch <- p:
		case <-t.C:
			return applyResult{err: raft.ErrEnqueueTimeout}, true
		case <-g.shutdown:
			return applyResult{}, false
		}
	}
	select {
	case res = <-p.result:
		return res, true
	case <-g.shutdown:
		return applyResult{}, false
	}
}

// run is the loop that forms groups; it ends at shutdown.
func (g *grouper) run() {
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
		group := []*proposal{first}
	drain:
		for len(group) < cap(g.ch) {
			select {
			case p := <-g.ch:
				group = append(group, p)
			default:
				break drain
			}
		}
		// Propose every entry of the group before waiting on any, so that
		// Raft appends them together.
		var entries []entry
		for len(group) > 0 {
			n, size := 1, len(group[0].data)
			for n < len(group) && n < maxBatchCommands && size+len(group[n].data) <= maxBatchBytes {
				size += len(group[n].data)
				n++
			}
			e := entry{props: group[:n]}
			if n == 1 {
				e.f = g.raft.Apply(group[0].data, g.timeout)
			} else {
				cmds := make([][]byte, n)
				for i, p := range e.props {
					cmds[i] = p.data
				}
				e.f = g.raft.Apply(fsm.EncodeBatch(cmds), g.timeout)
			}
			entries = append(entries, e)
			group = group[n:]
		}
		go g.answer(entries)
	}
}

// entry is one log entry of a group and the proposals it carries.
type entry struct {
	f     raft.ApplyFuture
	props []*proposal
}

// answer waits for a group's entries, hands each proposal its own
// response, then frees the group's slot.
func (g *grouper) answer(entries []entry) {
	defer func() { <-g.slots }()
	for _, e := range entries {
		if err := e.f.Error(); err != nil {
			for _, p := range e.props {
				p.result <- applyResult{err: err}
			}
			continue
		}
		index := e.f.Index()
		if len(e.props) == 1 {
			e.props[0].result <- applyResult{resp: e.f.Response(), index: index}
			continue
		}
		resps, ok := e.f.Response().(fsm.BatchResponse)
		for i, p := range e.props {
			if !ok || i >= len(resps) {
				p.result <- applyResult{err: fmt.Errorf("batch entry %d answered %T", index, e.f.Response()), index: index}
				continue
			}
			p.result <- applyResult{resp: resps[i], index: index}
		}
	}
}
