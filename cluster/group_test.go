package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeFuture is an ApplyFuture the test answers by closing done.
type fakeFuture struct {
	data  []byte
	index uint64
	done  chan struct{}
}

func (f *fakeFuture) Error() error   { <-f.done; return nil }
func (f *fakeFuture) Response() any  { return string(f.data) }
func (f *fakeFuture) Index() uint64  { return f.index }
func (f *fakeFuture) answer()        { close(f.done) }
func (f *fakeFuture) String() string { return string(f.data) }

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
	g := newGrouper(r, time.Second, groups, 64, shutdown)
	done := make(chan struct{})
	go func() { g.run(); close(done) }()
	t.Cleanup(func() { close(shutdown); <-done })
	return g, r
}

// With one group in flight, proposals made while it is out wait, then all
// enter Raft together once it is answered.
func TestGrouperHoldsProposalsUntilTheGroupInFlightIsAnswered(t *testing.T) {
	g, r := startGrouper(t, 1)
	results := make(chan string, 8)
	propose := func(s string) {
		f, ok := g.apply([]byte(s))
		if !ok {
			results <- "shutdown"
			return
		}
		results <- f.Response().(string)
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
		t.Fatalf("%d proposals reached Raft while the first group was out, want 1", n)
	}
	first.answer()
	if got := <-results; got != "first" {
		t.Fatalf("first answer %q", got)
	}
	next := r.waitApplied(t, 4)[1:]
	// The three entered as one group: all of them reached Raft before any
	// was answered, and the next group waits for all three.
	for _, f := range next {
		if f.answered() {
			t.Fatalf("%s answered early", f)
		}
	}
	go propose("d")
	next[0].answer()
	next[1].answer()
	got := map[string]bool{<-results: true, <-results: true}
	// Both answered callers have released their share; the third still
	// holds the group's slot, so "d" cannot have entered Raft.
	if n := len(r.snapshot()); n != 4 {
		t.Fatalf("a proposal entered Raft while its group's slot was still held (%d applied)", n)
	}
	next[2].answer()
	r.waitApplied(t, 5)[4].answer()
	for range 2 {
		got[<-results] = true
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		if !got[s] {
			t.Fatalf("no answer for %q: %v", s, got)
		}
	}
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
	for _, f := range r.waitApplied(t, 4)[2:] {
		f.answer()
	}
	applied[1].answer()
}

// A proposal waiting when the agent shuts down is refused, not stuck.
func TestGrouperRefusesProposalsAtShutdown(t *testing.T) {
	r := &fakeRaft{notify: make(chan struct{}, 1)}
	shutdown := make(chan struct{})
	g := newGrouper(r, time.Second, 1, 64, shutdown)
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
