package cluster

import (
	"errors"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/hashicorp/raft"
)

// fakeFuture is an ApplyFuture the test answers by closing done. Its
// response is the command itself as a string, or for a batch entry the
// commands' strings.
type fakeFuture struct {
	data  []byte
	index uint64
	done  chan struct{}
}

func (f *fakeFuture) Error() error  { <-f.done; return nil }
func (f *fakeFuture) Index() uint64 { return f.index }
func (f *fakeFuture) answer()       { close(f.done) }

func (f *fakeFuture) Response() any {
	cmds, err := fsm.SplitBatch(f.data)
	if err != nil {
		return string(f.data)
	}
	out := make(fsm.BatchResponse, len(cmds))
	for i, c := range cmds {
		out[i] = string(c)
	}
	return out
}

// commands lists what the entry carries.
func (f *fakeFuture) commands() []string {
	if r, ok := f.Response().(fsm.BatchResponse); ok {
		var out []string
		for _, c := range r {
			out = append(out, c.(string))
		}
		sort.Strings(out)
		return out
	}
	return []string{string(f.data)}
}

func (f *fakeFuture) answered() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// fakeRaft records every Apply, in order.
type fakeRaft struct {
	mu      sync.Mutex
	applied []*fakeFuture
	notify  chan struct{}
}

func (r *fakeRaft) Apply(cmd []byte, _ time.Duration) raft.ApplyFuture {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := &fakeFuture{data: cmd, index: uint64(len(r.applied) + 1), done: make(chan struct{})}
	r.applied = append(r.applied, f)
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return f
}

func (r *fakeRaft) snapshot() []*fakeFuture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*fakeFuture(nil), r.applied...)
}

// waitApplied polls until n proposals reached Raft.
func (r *fakeRaft) waitApplied(t *testing.T, n int) []*fakeFuture {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.snapshot()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d proposals reached Raft, want %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitQueued polls until n proposals wait in the grouper's queue.
func waitQueued(t *testing.T, g *grouper, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(g.ch) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d proposals queued, want %d", len(g.ch), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func startGrouper(t *testing.T, groups int) (*grouper, *fakeRaft) {
	t.Helper()
	r := &fakeRaft{notify: make(chan struct{}, 1)}
	shutdown := make(chan struct{})
	g := newGrouper(raftSink{raft: r, timeout: time.Second}, time.Second, groups, 1024, shutdown)
	done := make(chan struct{})
	go func() { g.run(); close(done) }()
	t.Cleanup(func() { close(shutdown); <-done })
	return g, r
}

// With one group in flight, proposals made while it is out wait, then all
// enter Raft together, as one batch entry, once it is answered; each
// caller gets its own command's response.
func TestGrouperHoldsProposalsUntilTheGroupInFlightIsAnswered(t *testing.T) {
	g, r := startGrouper(t, 1)
	results := make(chan [2]string, 8)
	propose := func(s string) {
		res, ok := g.apply([]byte(s))
		if !ok {
			results <- [2]string{s, "shutdown"}
			return
		}
		got, _ := res.resp.(string)
		results <- [2]string{s, got}
	}
	go propose("first")
	first := r.waitApplied(t, 1)[0]

	for _, s := range []string{"a", "b", "c"} {
		go propose(s)
	}
	// They are queued behind "first" (the loop holds one of them while it
	// waits for the slot): none may reach Raft before "first" is answered.
	waitQueued(t, g, 2)
	if n := len(r.snapshot()); n != 1 {
		t.Fatalf("%d entries reached Raft while the first group was out, want 1", n)
	}
	first.answer()
	if got := <-results; got != [2]string{"first", "first"} {
		t.Fatalf("first answer %v", got)
	}
	batch := r.waitApplied(t, 2)[1]
	if got := batch.commands(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("the second entry carries %v, want one batch of a, b, c", got)
	}
	go propose("d")
	go propose("e")
	waitQueued(t, g, 1) // the loop holds the other, waiting for the slot
	if n := len(r.snapshot()); n != 2 {
		t.Fatalf("a proposal entered Raft while its group's slot was still held (%d entries)", n)
	}
	batch.answer()
	r.waitApplied(t, 3)[2].answer()
	for range 5 {
		if got := <-results; got[0] != got[1] {
			t.Fatalf("the proposal of %q was answered %q", got[0], got[1])
		}
	}
}

// A group bigger than one entry may carry becomes several entries.
func TestGrouperSplitsLargeGroups(t *testing.T) {
	g, r := startGrouper(t, 1)
	go g.apply([]byte("hold"))
	hold := r.waitApplied(t, 1)[0]
	n := maxBatchCommands + 44
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, ok := g.apply([]byte(strconv.Itoa(i)))
			if !ok || res.resp != strconv.Itoa(i) {
				t.Errorf("proposal %d answered %v (ok %v)", i, res.resp, ok)
			}
		}()
	}
	waitQueued(t, g, n-1)
	hold.answer()
	entries := r.waitApplied(t, 3)[1:]
	if a, b := len(entries[0].commands()), len(entries[1].commands()); a != maxBatchCommands || b != 44 {
		t.Fatalf("entries of %d and %d commands, want %d and 44", a, b, maxBatchCommands)
	}
	for _, e := range entries {
		e.answer()
	}
	wg.Wait()
}

// Two groups may be out at once.
func TestGrouperLetsTheConfiguredNumberOfGroupsOut(t *testing.T) {
	g, r := startGrouper(t, 2)
	for _, s := range []string{"x", "y"} {
		go g.apply([]byte(s))
		r.waitApplied(t, map[string]int{"x": 1, "y": 2}[s])
	}
	go g.apply([]byte("z1"))
	go g.apply([]byte("z2"))
	waitQueued(t, g, 1) // the loop holds the other, waiting for a slot
	if n := len(r.snapshot()); n != 2 {
		t.Fatalf("%d proposals reached Raft with two groups out, want 2", n)
	}
	applied := r.snapshot()
	applied[0].answer()
	z := r.waitApplied(t, 3)[2]
	if got := z.commands(); !slices.Equal(got, []string{"z1", "z2"}) {
		t.Fatalf("the third entry carries %v, want a batch of z1, z2", got)
	}
	z.answer()
	applied[1].answer()
}

// A proposal waiting when the agent shuts down is refused, not stuck.
func TestGrouperRefusesProposalsAtShutdown(t *testing.T) {
	r := &fakeRaft{notify: make(chan struct{}, 1)}
	shutdown := make(chan struct{})
	g := newGrouper(raftSink{raft: r, timeout: time.Second}, time.Second, 1, 64, shutdown)
	go g.run()
	go g.apply([]byte("held")) // never answered: holds the only slot
	r.waitApplied(t, 1)
	refused := make(chan bool)
	go func() {
		_, ok := g.apply([]byte("waiting"))
		refused <- !ok
	}()
	go g.apply([]byte("queued"))
	waitQueued(t, g, 1)
	close(shutdown)
	select {
	case ok := <-refused:
		if !ok {
			t.Fatal("the waiting proposal was not refused")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a proposal waiting at shutdown never returned")
	}
}

// When the queue stays full for the apply timeout, a proposal is refused
// (503 upstream) rather than left waiting.
func TestGrouperTimesOutWhenTheQueueStaysFull(t *testing.T) {
	r := &fakeRaft{notify: make(chan struct{}, 1)}
	shutdown := make(chan struct{})
	defer close(shutdown)
	// No loop runs: nothing drains the queue of one.
	g := newGrouper(raftSink{raft: r, timeout: 50 * time.Millisecond}, 50*time.Millisecond, 1, 1, shutdown)
	go g.apply([]byte("held")) // holds the only slot until answered
	held := r.waitApplied(t, 1)[0]
	defer held.answer()
	go g.apply([]byte("fills the queue"))
	waitQueued(t, g, 1)
	res, ok := g.apply([]byte("refused"))
	if !ok || !errors.Is(res.err, raft.ErrEnqueueTimeout) {
		t.Fatalf("got %+v (ok %v), want ErrEnqueueTimeout", res, ok)
	}
}

// The grouper is the only maker of batch entries: it refuses to wrap one
// (a nested batch would make every replica panic on the entry), whether
// the batch arrives alone or while other proposals queue.
func TestGrouperRefusesBatchEntries(t *testing.T) {
	r := &fakeRaft{notify: make(chan struct{}, 64)}
	shutdown := make(chan struct{})
	defer close(shutdown)
	g := newGrouper(raftSink{raft: r, timeout: time.Second}, time.Second, 1, 64, shutdown)
	go g.run()
	batch := fsm.EncodeBatch([][]byte{[]byte("a"), []byte("b")})
	for _, data := range [][]byte{batch, {byte(fsm.BatchRequestType)}, {}} {
		res, ok := g.apply(data)
		if !ok || !errors.Is(res.err, ErrNested) {
			t.Fatalf("apply(%q) = %+v, want ErrNested", data, res)
		}
	}
	go g.apply([]byte("held")) // holds the slot: what follows queues
	held := r.waitApplied(t, 1)[0]
	res, _ := g.apply(batch)
	if !errors.Is(res.err, ErrNested) {
		t.Fatalf("queued batch: %+v, want ErrNested", res)
	}
	held.answer()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.applied {
		if len(f.data) > 0 && fsm.MessageType(f.data[0]) == fsm.BatchRequestType {
			if cmds, _ := fsm.SplitBatch(f.data); len(cmds) > 0 {
				t.Fatalf("a batch reached raft: %q", f.data)
			}
		}
	}
}
