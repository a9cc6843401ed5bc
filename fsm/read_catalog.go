package fsm

import "github.com/custodes/custodes/fsm/catalog"

// The catalog's reads: take the lock, ask the table, clone what it
// returns, so no reader can reach (or race with) the stored instances.

func cloneAll(list []*catalog.Instance) []catalog.Instance {
	out := make([]catalog.Instance, len(list))
	for i, inst := range list {
		out[i] = inst.Clone()
	}
	return out
}

// Service returns copies of name's instances (of one version, if given),
// the index of the service's last change, and a channel closed at its next
// change: the three things a blocking query needs, read atomically.
func (f *FSM) Service(name, version string) ([]catalog.Instance, uint64, <-chan struct{}) {
	key := catalog.WatchKey(name)
	// Most lookups find the watch channel already there (someone asked
	// before, and nothing under the name changed since): a read lock then
	// lets them run side by side.
	f.mu.RLock()
	if ch, ok := f.watches[key]; ok {
		defer f.mu.RUnlock()
		return cloneAll(f.catalog.Service(name, version)), f.catalog.ServiceIndex(name), ch
	}
	f.mu.RUnlock()
	// Creating the channel needs the write lock; read again under it, as
	// an apply may have come in between.
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneAll(f.catalog.Service(name, version)), f.catalog.ServiceIndex(name), f.watch(key)
}

// ServiceNames returns every service with at least one instance, sorted.
func (f *FSM) ServiceNames() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.catalog.Names()
}

// Instance returns the instance with id.
func (f *FSM) Instance(id string) (catalog.Instance, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	inst, ok := f.catalog.Get(id)
	if !ok {
		return catalog.Instance{}, false
	}
	return inst.Clone(), true
}

// Instances returns every instance, ordered by id.
func (f *FSM) Instances() []catalog.Instance {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return cloneAll(f.catalog.All())
}

// CheckedInstances returns every instance that carries a check, ordered
// by id; it costs O(checked instances), not O(catalog).
func (f *FSM) CheckedInstances() []catalog.Instance {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return cloneAll(f.catalog.Checked())
}

// Len returns the number of instances.
func (f *FSM) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.catalog.Len()
}
