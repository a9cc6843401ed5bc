package fsm

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
)

// handler applies one decoded command at a log index and returns the
// response plus the events it caused (which also say whose watchers wake).
type handler func(index uint64, body []byte) (any, []Event)

// FSM is the replicated state machine. Apply runs on Raft's FSM goroutine;
// readers (HTTP handlers on any agent) take the read lock.
type FSM struct {
	mu      sync.RWMutex
	catalog *catalog
	// applied is the index of the last command applied (or restored). Raft
	// does not hand no-op and barrier entries to the FSM, so reads that must
	// include a given write wait on this index, never on Raft's own.
	applied uint64

	// appliedCh is closed and replaced each time applied advances.
	appliedCh chan struct{}
	// watches holds one channel per service name, closed on its next change.
	watches map[string]chan struct{}
	events  *eventRing

	handlers map[MessageType]handler
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// New returns an empty state machine.
func New() *FSM {
	f := &FSM{
		catalog:   newCatalog(),
		appliedCh: make(chan struct{}),
		watches:   map[string]chan struct{}{},
		events:    newEventRing(eventRingSize),
	}
	f.handlers = map[MessageType]handler{
		RegisterRequestType:       decodeInto(func(i uint64, r *RegisterRequest) (any, []Event) { return f.catalog.register(i, r) }),
		UpdateInstanceRequestType: decodeInto(func(i uint64, r *UpdateInstanceRequest) (any, []Event) { return f.catalog.update(i, r) }),
		DeregisterRequestType:     decodeInto(func(i uint64, r *DeregisterRequest) (any, []Event) { return f.catalog.deregister(i, r) }),
		SetStatusRequestType:      decodeInto(func(i uint64, r *SetStatusRequest) (any, []Event) { return f.catalog.setStatus(i, r) }),
	}
	return f
}

// decodeInto adapts a typed command function to a handler. A body that does
// not decode is a corrupt log: panic rather than let replicas diverge.
func decodeInto[T any](fn func(uint64, *T) (any, []Event)) handler {
	return func(index uint64, body []byte) (any, []Event) {
		req := new(T)
		if err := json.Unmarshal(body, req); err != nil {
			panic(fmt.Sprintf("fsm: cannot decode %T at index %d: %v", req, index, err))
		}
		return fn(index, req)
	}
}

// Apply applies one committed log entry.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies consecutive committed entries under one lock and wakes
// readers once, which is what lets a busy leader keep up with its log.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	var touched []Event
	f.mu.Lock()
	for i, l := range logs {
		if l.Type == raft.LogConfiguration {
			f.events.add(membershipEvent(l))
			touched = append(touched, Event{})
			continue
		}
		if l.Type != raft.LogCommand {
			continue
		}
		t, body, err := decode(l.Data)
		if err != nil {
			panic(fmt.Sprintf("fsm: index %d: %v", l.Index, err))
		}
		if t == BatchRequestType {
			cmds, err := decodeBatch(body)
			if err != nil {
				panic(fmt.Sprintf("fsm: index %d: %v", l.Index, err))
			}
			resps := make(BatchResponse, len(cmds))
			for k, c := range cmds {
				resps[k], touched = f.applyCommand(l.Index, c, touched)
			}
			out[i] = resps
		} else {
			out[i], touched = f.applyCommand(l.Index, l.Data, touched)
		}
		f.applied = l.Index
	}
	for _, ev := range touched {
		if ev.Instance == nil {
			continue
		}
		if ch, ok := f.watches[ev.Instance.Name]; ok {
			close(ch)
			delete(f.watches, ev.Instance.Name)
		}
	}
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.mu.Unlock()
	return out
}

// applyCommand applies one encoded command (not a batch) at index, records
// its events in log order, and appends them to touched.
func (f *FSM) applyCommand(index uint64, data []byte, touched []Event) (any, []Event) {
	t, body, err := decode(data)
	if err != nil {
		panic(fmt.Sprintf("fsm: index %d: %v", index, err))
	}
	h, ok := f.handlers[t]
	if !ok {
		panic(fmt.Sprintf("fsm: index %d: unknown message type %s", index, t))
	}
	resp, evs := h(index, body)
	for _, ev := range evs {
		f.events.add(ev) // in log order, whatever the batching
	}
	return resp, append(touched, evs...)
}

// AppliedIndex is the index of the last command this replica applied.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied
}

// WaitForIndex blocks until the replica has applied index or ctx ends.
func (f *FSM) WaitForIndex(ctx context.Context, index uint64) error {
	for {
		f.mu.RLock()
		applied, ch := f.applied, f.appliedCh
		f.mu.RUnlock()
		if applied >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Service returns copies of name's instances (of one version, if given),
// the index of the service's last change, and a channel closed at its next
// change: the three things a blocking query needs, read atomically.
func (f *FSM) Service(name, version string) ([]Instance, uint64, <-chan struct{}) {
	f.mu.Lock() // a write lock: it may create the watch channel
	defer f.mu.Unlock()
	list := f.catalog.service(name, version)
	out := make([]Instance, len(list))
	for i, inst := range list {
		out[i] = inst.clone()
	}
	ch, ok := f.watches[name]
	if !ok {
		ch = make(chan struct{})
		f.watches[name] = ch
	}
	return out, f.catalog.serviceIndex[name], ch
}

// ServiceNames returns every service with at least one instance, sorted.
func (f *FSM) ServiceNames() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.catalog.names()
}

// Instance returns the instance with id.
func (f *FSM) Instance(id string) (Instance, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	inst, ok := f.catalog.instances[id]
	if !ok {
		return Instance{}, false
	}
	return inst.clone(), true
}

// Instances returns every instance, ordered by id.
func (f *FSM) Instances() []Instance {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Instance, 0, len(f.catalog.instances))
	for _, inst := range f.catalog.instances {
		out = append(out, inst.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckedInstances returns every instance that carries a check, ordered
// by id; it costs O(checked instances), not O(catalog).
func (f *FSM) CheckedInstances() []Instance {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Instance, 0, len(f.catalog.checked))
	for id := range f.catalog.checked {
		out = append(out, f.catalog.instances[id].clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Events returns the retained events after index, whether some may be
// missing before them (the reader must then resynchronise from a full
// read), and a channel closed when anything more is applied.
func (f *FSM) Events(after uint64) ([]Event, bool, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	evs, gap := f.events.since(after)
	for i := range evs {
		if evs[i].Instance != nil {
			c := evs[i].Instance.clone()
			evs[i].Instance = &c
		}
	}
	return evs, gap, f.appliedCh
}

// Len returns the number of instances.
func (f *FSM) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.catalog.instances)
}
