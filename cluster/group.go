package cluster

import (
	"fmt"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/hashicorp/raft"
)

// grouper lets at most a few groups of proposals out at once; proposals
// that arrive while those are out wait and leave together as the next
// group. It is the one batcher, with two sinks:
//   - on the leader, Raft (raftSink): a group becomes one batch entry
//     (fsm.BatchRequestType), so Raft stores, sends and applies one entry
//     (one fsync'd BoltDB commit, one AppendEntries per follower) where it
//     would have handled many;
//   - on a follower, the leader (remoteSink): a group becomes one call of
//     the internal protocol, and the leader splits it back into proposals
//     for its own grouper, so batches never nest.
//
// A lone proposal still leaves at once, alone.
type grouper struct {
	sink     sink
	timeout  time.Duration
	ch       chan *proposal
	slots    chan struct{}
	shutdown <-chan struct{}
}

// sink takes one unit of a group: send starts it, and the function it
// returns waits for and returns one result per command, in order.
type sink interface {
	send(cmds [][]byte) (wait func() []applyResult)
}

// applier is what the raft sink needs of Raft (*raft.Raft implements it).
type applier interface {
	Apply(cmd []byte, timeout time.Duration) raft.ApplyFuture
}

// Limits of one unit: a group larger than this becomes several.
const (
	maxBatchCommands = 256
	maxBatchBytes    = 1 << 20
)

// applyResult is one proposal's outcome: an error that says the command
// certainly or possibly did not apply, or the FSM's response (a result or
// a business error) at the entry's index. by names the leader that
// applied it.
type applyResult struct {
	resp  any
	index uint64
	err   error
	by    string
}

type proposal struct {
	data   []byte
	result chan applyResult
}

func newGrouper(s sink, timeout time.Duration, groups, queue int, shutdown <-chan struct{}) *grouper {
	return &grouper{sink: s, timeout: timeout, ch: make(chan *proposal, queue), slots: make(chan struct{}, groups), shutdown: shutdown}
}

// apply proposes one encoded command and waits for its outcome. ok is
// false when the agent shut down first.
func (g *grouper) apply(data []byte) (res applyResult, ok bool) {
	if len(data) == 0 || fsm.MessageType(data[0]) == fsm.BatchRequestType {
		// Only the grouper makes batches, out of commands: wrapping one
		// would make every replica panic on the entry.
		return applyResult{err: ErrNested}, true
	}
	if len(g.ch) == 0 {
		// Nothing waits and a slot is free: a group of one, sent from
		// here, sparing the hand-offs to the loop.
		select {
		case g.slots <- struct{}{}:
			res = g.sink.send([][]byte{data})()[0]
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
		// Send every unit of the group before waiting on any, so that
		// Raft appends them together.
		var units []unit
		for len(group) > 0 {
			n, size := 1, len(group[0].data)
			for n < len(group) && n < maxBatchCommands && size+len(group[n].data) <= maxBatchBytes {
				size += len(group[n].data)
				n++
			}
			cmds := make([][]byte, n)
			for i, p := range group[:n] {
				cmds[i] = p.data
			}
			units = append(units, unit{wait: g.sink.send(cmds), props: group[:n]})
			group = group[n:]
		}
		go g.answer(units)
	}
}

// unit is one unit of a group and the proposals it carries.
type unit struct {
	wait  func() []applyResult
	props []*proposal
}

// answer waits for a group's units, hands each proposal its own result,
// then frees the group's slot.
func (g *grouper) answer(units []unit) {
	defer func() { <-g.slots }()
	for _, u := range units {
		for i, r := range u.wait() {
			u.props[i].result <- r
		}
	}
}

// raftSink proposes units to Raft: one command as a plain entry, several
// as one batch entry.
type raftSink struct {
	raft    applier
	timeout time.Duration
	id      string
	obs     *observer // nil in tests
	// shutdown, when closed, ends the wait for a future: Raft never
	// answers an entry it had queued when it shut down, and a leader
	// task waiting on one would hang the agent's own shutdown (found as
	// a killed leader's sweep waiting for seven minutes).
	shutdown <-chan struct{}
}

// wait waits for f, or for shutdown (f's own timeout bounds it).
func (s raftSink) wait(f raft.Future) error {
	if s.shutdown == nil {
		return f.Error()
	}
	return awaitFuture(f, s.shutdown, 0)
}

func (s raftSink) send(cmds [][]byte) func() []applyResult {
	start := time.Now()
	if len(cmds) == 1 {
		f := s.raft.Apply(cmds[0], s.timeout)
		return func() []applyResult {
			err := s.wait(f)
			s.obs.committed(1, start, err)
			if err != nil {
				return []applyResult{{err: err}}
			}
			return []applyResult{{resp: f.Response(), index: f.Index(), by: s.id}}
		}
	}
	f := s.raft.Apply(fsm.EncodeBatch(cmds), s.timeout)
	return func() []applyResult {
		out := make([]applyResult, len(cmds))
		err := s.wait(f)
		s.obs.committed(len(cmds), start, err)
		if err != nil {
			for i := range out {
				out[i] = applyResult{err: err}
			}
			return out
		}
		index := f.Index()
		resps, ok := f.Response().(fsm.BatchResponse)
		for i := range out {
			if !ok || i >= len(resps) {
				out[i] = applyResult{err: fmt.Errorf("batch entry %d answered %T", index, f.Response()), index: index}
				continue
			}
			out[i] = applyResult{resp: resps[i], index: index, by: s.id}
		}
		return out
	}
}
