package fsm

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/raft"
)

// snapshotVersion is bumped when the snapshot layout changes incompatibly.
const snapshotVersion = 1

// snapshotData is the persisted form: one section per table.
type snapshotData struct {
	Version      int               `json:"version"`
	Applied      uint64            `json:"applied"`
	Instances    []*Instance       `json:"instances"`
	ServiceIndex map[string]uint64 `json:"service_index"`
}

// snapshot is a point-in-time copy of the state, safe to persist while
// Apply goes on.
type snapshot struct {
	applied uint64
	catalog *catalog
}

// Snapshot takes the cheap copy; Persist does the I/O.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &snapshot{applied: f.applied, catalog: f.catalog.clone()}, nil
}

// Persist writes the snapshot as JSON, cancelling the sink on error.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	data := snapshotData{
		Version:      snapshotVersion,
		Applied:      s.applied,
		Instances:    make([]*Instance, 0, len(s.catalog.instances)),
		ServiceIndex: s.catalog.serviceIndex,
	}
	for _, inst := range s.catalog.instances {
		data.Instances = append(data.Instances, inst)
	}
	sort.Slice(data.Instances, func(i, j int) bool { return data.Instances[i].ID < data.Instances[j].ID })
	if err := json.NewEncoder(sink).Encode(&data); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release is a no-op: the copy is garbage collected.
func (s *snapshot) Release() {}

// Restore replaces the whole state with a snapshot's, then wakes every
// watcher, since any service may have changed.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var data snapshotData
	if err := json.NewDecoder(rc).Decode(&data); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	if data.Version != snapshotVersion {
		return fmt.Errorf("restore snapshot: unsupported version %d", data.Version)
	}
	next := newCatalog()
	for i, inst := range data.Instances {
		if inst == nil || inst.ID == "" || inst.Name == "" {
			return fmt.Errorf("restore snapshot: instance %d is empty or has no id or name", i)
		}
		if _, dup := next.instances[inst.ID]; dup {
			return fmt.Errorf("restore snapshot: instance id %q appears twice", inst.ID)
		}
		if _, dup := next.byName[inst.Name][inst.Address]; dup {
			return fmt.Errorf("restore snapshot: %s at %s appears twice", inst.Name, inst.Address)
		}
		next.put(inst)
	}
	for name, idx := range data.ServiceIndex {
		next.serviceIndex[name] = idx
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.catalog = next
	f.applied = data.Applied
	f.events.reset(data.Applied)
	for name, ch := range f.watches {
		close(ch)
		delete(f.watches, name)
	}
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	return nil
}
