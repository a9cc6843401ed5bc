package fsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/custodes/custodes/fsm/catalog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestWaitForIndex(t *testing.T) {
	t.Run("already applied", func(t *testing.T) {
		h := newHarness(t)
		h.mustResult(RegisterRequestType, reg("a", "web", "h:1"))
		h.apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "nope"}) // an error response still counts
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // an ended context must not matter when nothing needs waiting for
		for _, index := range []uint64{0, 1, 2} {
			if err := h.fsm.WaitForIndex(ctx, index); err != nil {
				t.Errorf("WaitForIndex(%d) = %v, want nil", index, err)
			}
		}
	})
	t.Run("blocks until applied", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- h.fsm.WaitForIndex(ctx, 3) }()
		notYet := func(what string) {
			select {
			case err := <-done:
				t.Fatalf("WaitForIndex(3) returned %v after %s", err, what)
			case <-time.After(20 * time.Millisecond): // a negative check: nothing to wait for
			}
		}
		h.mustResult(RegisterRequestType, reg("a", "web", "h:1"))
		notYet("index 1")
		h.fsm.ApplyBatch([]*raft.Log{{Index: 2, Type: raft.LogNoop}, {Index: 3, Type: raft.LogBarrier}})
		notYet("non-command entries 2 and 3")
		h.fsm.ApplyBatch([]*raft.Log{entry(t, 4, DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"})})
		if err := <-done; err != nil {
			t.Fatalf("WaitForIndex(3) = %v after index 4", err)
		}
	})
	t.Run("many waiters", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan error)
		for i := uint64(1); i <= 20; i++ {
			go func() { done <- h.fsm.WaitForIndex(ctx, i) }()
		}
		for i := range 20 {
			h.apply(RegisterRequestType, reg(fmt.Sprint(i), "web", fmt.Sprint("h:", i)))
		}
		for range 20 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(10*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustResult(RegisterRequestType, reg("a", "web", "h:1"))
			ctx, cancel := tc.ctx()
			defer cancel()
			if err := h.fsm.WaitForIndex(ctx, 2); !errors.Is(err, tc.want) {
				t.Fatalf("WaitForIndex = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestConcurrentReaders lets the race detector watch readers, snapshots and
// waiters run against a stream of applies.
func TestConcurrentReaders(t *testing.T) {
	h := newHarness(t)
	const n = 300
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := h.fsm.WaitForIndex(ctx, n); err != nil {
			errs <- err
		}
	})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				list, index, ch := h.fsm.Service("web", "")
				for _, inst := range list {
					if inst.ModifyIndex > index {
						errs <- fmt.Errorf("instance %s modified at %d after service index %d", inst.ID, inst.ModifyIndex, index)
						return
					}
				}
				_ = ch
				h.fsm.ServiceNames()
				h.fsm.Instances()
				h.fsm.Instance("a1")
				h.fsm.Events(0)
				if snap, err := h.fsm.Snapshot(); err == nil {
					_ = snap.Persist(&memSink{})
					snap.Release()
				}
			}
		})
	}
	for i := range n {
		id := fmt.Sprintf("a%d", i%7)
		switch i % 3 {
		case 0:
			h.apply(RegisterRequestType, reg(id, "web", "h:"+id))
		case 1:
			h.apply(UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: id, Version: ptr(fmt.Sprint(i))})
		default:
			h.apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: id})
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Readers get copies: nothing a caller does to one reaches the replicated
// state, which only the log may change.
func TestReadsReturnIndependentCopies(t *testing.T) {
	h := newHarness(t)
	h.mustResult(RegisterRequestType, &catalog.RegisterRequest{ID: "a", Name: "web", Address: "h:1", Tags: []string{"x"},
		Meta: map[string]string{"k": "v"}, Check: &catalog.Check{TTL: time.Second}, Rectify: &catalog.Rectify{URL: "u"}})
	want := persist(t, h.fsm)
	list, _, _ := h.fsm.Service("web", "")
	inst, _ := h.fsm.Instance("a")
	all := h.fsm.Instances()
	evs, _, _ := h.fsm.Events(0)
	for _, got := range []*catalog.Instance{&list[0], &inst, &all[0], evs[0].Payload.(*catalog.Instance)} {
		got.Tags[0] = "mutated"
		got.Meta["k"] = "mutated"
		got.Check.TTL = time.Hour
		got.Rectify.URL = "mutated"
	}
	if got := persist(t, h.fsm); !bytes.Equal(got, want) {
		t.Errorf("state changed through a returned copy:\n%s\nwant\n%s", got, want)
	}
}
