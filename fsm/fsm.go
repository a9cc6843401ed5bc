package fsm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
	"github.com/hashicorp/raft"
)

// Config holds the limits Validate applies to requests. They bound what a
// client may ask for (a check every millisecond would overload the
// checkers); tests lower them.
type Config struct {
	// MinCheckInterval is the shortest check interval or ttl accepted.
	MinCheckInterval time.Duration
	// MinDeregisterAfter is the shortest deregister_after accepted.
	MinDeregisterAfter time.Duration
}

// DefaultConfig returns the production limits.
func DefaultConfig() Config {
	return Config{MinCheckInterval: time.Second, MinDeregisterAfter: time.Minute}
}

// FSM is the replicated state machine. Apply runs on Raft's FSM goroutine;
// readers (HTTP handlers on any agent) take the read lock.
type FSM struct {
	mu      sync.RWMutex
	catalog *catalog.Table
	acl     *acl.Table
	// The directory's tables (docs/DFS.md).
	servers *fileservers.Table
	files   *files.Table
	locks   *locks.Table
	shares  *shares.Table
	// queue is the replication queue: ids of the files with fewer live
	// copies than they want (dfs_queue.go). Derived from the tables: kept
	// by the glue, rebuilt on Restore, never persisted.
	queue  map[string]struct{}
	limits catalog.Limits
	// applied is the index of the last command applied (or restored). Raft
	// does not hand no-op and barrier entries to the FSM, so reads that must
	// include a given write wait on this index, never on Raft's own.
	applied uint64

	// appliedCh is closed and replaced each time applied advances.
	appliedCh chan struct{}
	// watches holds one channel per watch key (a table's choice, such as
	// "service/web"), closed on the key's next change.
	watches map[string]chan struct{}
	events  *eventRing
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// New returns an empty state machine whose Validate applies cfg's limits.
func New(cfg Config) *FSM {
	return &FSM{
		catalog:   catalog.New(),
		acl:       acl.New(),
		servers:   fileservers.New(),
		files:     files.New(),
		locks:     locks.New(),
		shares:    shares.New(),
		queue:     map[string]struct{}{},
		limits:    catalog.Limits{MinCheckInterval: cfg.MinCheckInterval, MinDeregisterAfter: cfg.MinDeregisterAfter},
		appliedCh: make(chan struct{}),
		watches:   map[string]chan struct{}{},
		events:    newEventRing(eventRingSize),
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
		if ch, ok := f.watches[ev.Key]; ok && ev.Key != "" {
			close(ch)
			delete(f.watches, ev.Key)
		}
	}
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.mu.Unlock()
	return out
}

// applyCommand applies one encoded command (not a batch) at index, records
// its events in log order, and appends them to touched. A body that does
// not decode is a corrupt log: panic rather than let replicas diverge.
func (f *FSM) applyCommand(index uint64, data []byte, touched []Event) (any, []Event) {
	t, body, err := decode(data)
	if err != nil {
		panic(fmt.Sprintf("fsm: index %d: %v", index, err))
	}
	cmd, ok := commands[t]
	if !ok {
		panic(fmt.Sprintf("fsm: index %d: unknown message type %s", index, t))
	}
	req := cmd.newRequest()
	if err := json.Unmarshal(body, req); err != nil {
		panic(fmt.Sprintf("fsm: cannot decode %T at index %d: %v", req, index, err))
	}
	resp, evs := cmd.apply(f, index, req)
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

// watch returns the channel closed at key's next change. The caller holds
// the write lock when the channel may not exist yet.
func (f *FSM) watch(key string) chan struct{} {
	ch, ok := f.watches[key]
	if !ok {
		ch = make(chan struct{})
		f.watches[key] = ch
	}
	return ch
}

// Events returns the retained events after index, whether some may be
// missing before them (the reader must then resynchronise from a full
// read), and a channel closed when anything more is applied.
func (f *FSM) Events(after uint64) ([]Event, bool, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	evs, gap := f.events.since(after)
	for i := range evs {
		evs[i].Payload = clonePayload(evs[i].Payload)
	}
	return evs, gap, f.appliedCh
}
