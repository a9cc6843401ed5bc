package catalog

import (
	"maps"
	"slices"
	"sort"
)

// Table is the service table. byName indexes (name, address) -> id, the
// identity of an instance; serviceIndex remembers the last index at which
// anything under a name changed, also after its last instance is gone, so
// blocking queries see removals. A Table is not safe for concurrent use:
// fsm guards it with its lock.
type Table struct {
	instances    map[string]*Instance
	byName       map[string]map[string]string
	serviceIndex map[string]uint64
	// checked holds the ids of instances that carry a check, so the health
	// checker's periodic passes cost O(checked), not O(catalog).
	checked map[string]struct{}
}

// New returns an empty table.
func New() *Table {
	return &Table{
		instances:    map[string]*Instance{},
		byName:       map[string]map[string]string{},
		serviceIndex: map[string]uint64{},
		checked:      map[string]struct{}{},
	}
}

// Clone copies the maps (not the immutable instances): the cheap copy a
// snapshot takes.
func (c *Table) Clone() *Table {
	out := &Table{
		instances:    maps.Clone(c.instances),
		byName:       make(map[string]map[string]string, len(c.byName)),
		serviceIndex: maps.Clone(c.serviceIndex),
		checked:      maps.Clone(c.checked),
	}
	for name, addrs := range c.byName {
		out.byName[name] = maps.Clone(addrs)
	}
	return out
}

func (c *Table) put(inst *Instance) {
	c.instances[inst.ID] = inst
	addrs := c.byName[inst.Name]
	if addrs == nil {
		addrs = map[string]string{}
		c.byName[inst.Name] = addrs
	}
	addrs[inst.Address] = inst.ID
	if inst.Check != nil {
		c.checked[inst.ID] = struct{}{}
	} else {
		delete(c.checked, inst.ID)
	}
	if inst.ModifyIndex > c.serviceIndex[inst.Name] {
		c.serviceIndex[inst.Name] = inst.ModifyIndex
	}
}

func (c *Table) remove(inst *Instance, index uint64) {
	delete(c.instances, inst.ID)
	delete(c.checked, inst.ID)
	if addrs := c.byName[inst.Name]; addrs != nil {
		delete(addrs, inst.Address)
		if len(addrs) == 0 {
			delete(c.byName, inst.Name)
		}
	}
	c.serviceIndex[inst.Name] = index
}

func effect(ch Change, inst *Instance) []Effect { return []Effect{{Change: ch, Instance: inst}} }

// Register applies a RegisterRequest at index.
func (c *Table) Register(index uint64, req *RegisterRequest) (*Result, []Effect, error) {
	kind := req.Kind
	if kind == "" {
		kind = DefaultKind
	}
	if id, ok := c.byName[req.Name][req.Address]; ok {
		old := c.instances[id]
		if old.Version == req.Version && old.Kind == kind &&
			slices.Equal(old.Tags, req.Tags) && maps.Equal(old.Meta, req.Meta) &&
			ptrEqual(old.Check, req.Check) && ptrEqual(old.Rectify, req.Rectify) {
			return &Result{ID: id, Change: Unchanged, ChangeVersion: old.ChangeVersion, Index: old.ModifyIndex}, nil, nil
		}
		next := *old
		next.Version, next.Kind = req.Version, kind
		next.Tags, next.Meta = slices.Clone(req.Tags), maps.Clone(req.Meta)
		next.Check, next.Rectify = clonePtr(req.Check), clonePtr(req.Rectify)
		next.ChangeVersion++
		next.UpdatedAt = req.Now
		next.ModifyIndex = index
		c.put(&next)
		return &Result{ID: id, Change: Changed, ChangeVersion: next.ChangeVersion, Index: index}, effect(Changed, &next), nil
	}
	if _, taken := c.instances[req.ID]; taken || req.ID == "" {
		return nil, nil, ErrConflict
	}
	inst := &Instance{
		ID: req.ID, Name: req.Name, Kind: kind, Version: req.Version, Address: req.Address,
		Tags: slices.Clone(req.Tags), Meta: maps.Clone(req.Meta),
		ChangeVersion: 1, RegisteredAt: req.Now, UpdatedAt: req.Now,
		CreateIndex: index, ModifyIndex: index,
		Check: clonePtr(req.Check), Rectify: clonePtr(req.Rectify),
		Status: StatusPassing, StatusSince: req.Now,
	}
	c.put(inst)
	return &Result{ID: inst.ID, Change: Created, ChangeVersion: 1, Index: index}, effect(Created, inst), nil
}

// UpdateInstance applies an UpdateInstanceRequest at index.
func (c *Table) UpdateInstance(index uint64, req *UpdateInstanceRequest) (*Result, []Effect, error) {
	old, ok := c.instances[req.ID]
	if !ok {
		return nil, nil, ErrNotFound
	}
	next := *old
	if req.Version != nil {
		next.Version = *req.Version
	}
	if req.Kind != nil {
		next.Kind = *req.Kind
		if next.Kind == "" {
			next.Kind = DefaultKind
		}
	}
	if req.Tags != nil {
		next.Tags = slices.Clone(*req.Tags)
	}
	if req.Meta != nil {
		next.Meta = maps.Clone(*req.Meta)
	}
	if req.Address != nil {
		next.Address = *req.Address
	}
	if next.Version == old.Version && next.Kind == old.Kind && next.Address == old.Address &&
		slices.Equal(next.Tags, old.Tags) && maps.Equal(next.Meta, old.Meta) {
		return &Result{ID: old.ID, Change: Unchanged, ChangeVersion: old.ChangeVersion, Index: old.ModifyIndex}, nil, nil
	}
	if next.Address != old.Address {
		if _, taken := c.byName[old.Name][next.Address]; taken {
			return nil, nil, ErrConflict
		}
		delete(c.byName[old.Name], old.Address)
	}
	next.ChangeVersion++
	next.UpdatedAt = req.Now
	next.ModifyIndex = index
	c.put(&next)
	return &Result{ID: next.ID, Change: Changed, ChangeVersion: next.ChangeVersion, Index: index}, effect(Changed, &next), nil
}

// Deregister applies a DeregisterRequest at index.
func (c *Table) Deregister(index uint64, req *DeregisterRequest) (*Result, []Effect, error) {
	old, ok := c.instances[req.ID]
	if !ok {
		return nil, nil, ErrNotFound
	}
	c.remove(old, index)
	return &Result{ID: old.ID, Change: Removed, ChangeVersion: old.ChangeVersion, Index: index}, effect(Removed, old), nil
}

// SetStatus applies a SetStatusRequest at index: only a real transition
// changes the instance (and wakes watchers).
func (c *Table) SetStatus(index uint64, req *SetStatusRequest) (*Result, []Effect, error) {
	old, ok := c.instances[req.ID]
	if !ok {
		return nil, nil, ErrNotFound
	}
	if req.Status != StatusPassing && req.Status != StatusCritical {
		return nil, nil, ErrInvalidStatus
	}
	if old.Status == req.Status {
		return &Result{ID: old.ID, Change: Unchanged, ChangeVersion: old.ChangeVersion, Index: old.ModifyIndex}, nil, nil
	}
	next := *old
	next.Status, next.StatusSince, next.StatusOutput = req.Status, req.Now, req.Output
	next.ModifyIndex = index
	c.put(&next)
	change := Change(req.Status)
	return &Result{ID: next.ID, Change: change, ChangeVersion: next.ChangeVersion, Index: index}, effect(change, &next), nil
}

// Service returns the stored instances registered under name (all
// versions when version is empty), ordered by id so every replica answers
// alike. Callers must clone before handing them out.
func (c *Table) Service(name, version string) []*Instance {
	addrs := c.byName[name]
	out := make([]*Instance, 0, len(addrs))
	for _, id := range addrs {
		inst := c.instances[id]
		if version == "" || inst.Version == version {
			out = append(out, inst)
		}
	}
	sortByID(out)
	return out
}

// ServiceIndex is the index of the last change under name (0 if never).
func (c *Table) ServiceIndex(name string) uint64 { return c.serviceIndex[name] }

// Names returns every service name with at least one instance, sorted.
func (c *Table) Names() []string {
	out := make([]string, 0, len(c.byName))
	for name := range c.byName {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Get returns the stored instance with id.
func (c *Table) Get(id string) (*Instance, bool) {
	inst, ok := c.instances[id]
	return inst, ok
}

// All returns every stored instance, ordered by id.
func (c *Table) All() []*Instance {
	out := make([]*Instance, 0, len(c.instances))
	for _, inst := range c.instances {
		out = append(out, inst)
	}
	sortByID(out)
	return out
}

// Checked returns every stored instance that carries a check, ordered by
// id; it costs O(checked instances), not O(table).
func (c *Table) Checked() []*Instance {
	out := make([]*Instance, 0, len(c.checked))
	for id := range c.checked {
		out = append(out, c.instances[id])
	}
	sortByID(out)
	return out
}

// Len returns the number of instances.
func (c *Table) Len() int { return len(c.instances) }

func sortByID(list []*Instance) {
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
}
