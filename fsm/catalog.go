package fsm

import (
	"maps"
	"slices"
	"sort"
	"time"
)

// Instance is one registered instance of a service. Values stored in the
// catalog are never mutated in place: an update stores a new copy, so a
// snapshot or a reader may hold the old pointer safely.
type Instance struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Version       string            `json:"version"`
	Address       string            `json:"address"`
	Tags          []string          `json:"tags"`
	Meta          map[string]string `json:"meta"`
	ChangeVersion uint64            `json:"change_version"`
	RegisteredAt  time.Time         `json:"registered_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	CreateIndex   uint64            `json:"create_index"`
	ModifyIndex   uint64            `json:"modify_index"`
	Check         *Check            `json:"check,omitempty"`
	Rectify       *Rectify          `json:"rectify,omitempty"`
	// Status is passing or critical; StatusSince is when it last changed.
	Status       string    `json:"status"`
	StatusSince  time.Time `json:"status_since"`
	StatusOutput string    `json:"status_output,omitempty"`
}

// clone returns a deep copy, so a reader can never reach the stored
// instance's slices, maps or pointers.
func (in *Instance) clone() Instance {
	out := *in
	out.Tags = slices.Clone(in.Tags)
	out.Meta = maps.Clone(in.Meta)
	out.Check = clonePtr(in.Check)
	out.Rectify = clonePtr(in.Rectify)
	return out
}

func ptrEqual[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DefaultKind is the kind of an instance registered without one.
const DefaultKind = "service"

// catalog is the service table. byName indexes (name, address) -> id, the
// identity of an instance; serviceIndex remembers the last index at which
// anything under a name changed, also after its last instance is gone, so
// blocking queries see removals.
type catalog struct {
	instances    map[string]*Instance
	byName       map[string]map[string]string
	serviceIndex map[string]uint64
	// checked holds the ids of instances that carry a check, so the health
	// checker's periodic passes cost O(checked), not O(catalog).
	checked map[string]struct{}
}

func newCatalog() *catalog {
	return &catalog{
		instances:    map[string]*Instance{},
		byName:       map[string]map[string]string{},
		serviceIndex: map[string]uint64{},
		checked:      map[string]struct{}{},
	}
}

// clone copies the maps (not the immutable instances): the cheap copy a
// snapshot takes.
func (c *catalog) clone() *catalog {
	out := &catalog{
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

func (c *catalog) put(inst *Instance) {
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

func (c *catalog) remove(inst *Instance, index uint64) {
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

// register implements RegisterRequestType.
func (c *catalog) register(index uint64, req *RegisterRequest) (any, []Event) {
	kind := req.Kind
	if kind == "" {
		kind = DefaultKind
	}
	if id, ok := c.byName[req.Name][req.Address]; ok {
		old := c.instances[id]
		if old.Version == req.Version && old.Kind == kind &&
			slices.Equal(old.Tags, req.Tags) && maps.Equal(old.Meta, req.Meta) &&
			ptrEqual(old.Check, req.Check) && ptrEqual(old.Rectify, req.Rectify) {
			return &Result{ID: id, Change: Unchanged, ChangeVersion: old.ChangeVersion, Index: old.ModifyIndex}, nil
		}
		next := *old
		next.Version, next.Kind = req.Version, kind
		next.Tags, next.Meta = slices.Clone(req.Tags), maps.Clone(req.Meta)
		next.Check, next.Rectify = clonePtr(req.Check), clonePtr(req.Rectify)
		next.ChangeVersion++
		next.UpdatedAt = req.Now
		next.ModifyIndex = index
		c.put(&next)
		return &Result{ID: id, Change: Changed, ChangeVersion: next.ChangeVersion, Index: index}, []Event{instanceEvent(index, Changed, &next)}
	}
	if _, taken := c.instances[req.ID]; taken || req.ID == "" {
		return ErrConflict, nil
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
	return &Result{ID: inst.ID, Change: Created, ChangeVersion: 1, Index: index}, []Event{instanceEvent(index, Created, inst)}
}

// update implements UpdateInstanceRequestType.
func (c *catalog) update(index uint64, req *UpdateInstanceRequest) (any, []Event) {
	old, ok := c.instances[req.ID]
	if !ok {
		return ErrNotFound, nil
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
		return &Result{ID: old.ID, Change: Unchanged, ChangeVersion: old.ChangeVersion, Index: old.ModifyIndex}, nil
	}
	if next.Address != old.Address {
		if _, taken := c.byName[old.Name][next.Address]; taken {
			return ErrConflict, nil
		}
		delete(c.byName[old.Name], old.Address)
	}
	next.ChangeVersion++
	next.UpdatedAt = req.Now
	next.ModifyIndex = index
	c.put(&next)
	return &Result{ID: next.ID, Change: Changed, ChangeVersion: next.ChangeVersion, Index: index}, []Event{instanceEvent(index, Changed, &next)}
}

// deregister implements DeregisterRequestType.
func (c *catalog) deregister(index uint64, req *DeregisterRequest) (any, []Event) {
	old, ok := c.instances[req.ID]
	if !ok {
		return ErrNotFound, nil
	}
	c.remove(old, index)
	return &Result{ID: old.ID, Change: Removed, ChangeVersion: old.ChangeVersion, Index: index}, []Event{instanceEvent(index, Removed, old)}
}

// setStatus implements SetStatusRequestType: only a real transition
// changes the instance (and wakes watchers).
func (c *catalog) setStatus(index uint64, req *SetStatusRequest) (any, []Event) {
	old, ok := c.instances[req.ID]
	if !ok {
		return ErrNotFound, nil
	}
	if req.Status != StatusPassing && req.Status != StatusCritical {
		return ErrInvalidStatus, nil
	}
	if old.Status == req.Status {
		return &Result{ID: old.ID, Change: Unchanged, ChangeVersion: old.ChangeVersion, Index: old.ModifyIndex}, nil
	}
	next := *old
	next.Status, next.StatusSince, next.StatusOutput = req.Status, req.Now, req.Output
	next.ModifyIndex = index
	c.put(&next)
	change := Change(req.Status)
	return &Result{ID: next.ID, Change: change, ChangeVersion: next.ChangeVersion, Index: index}, []Event{instanceEvent(index, change, &next)}
}

// service returns the instances registered under name (all versions when
// version is empty), ordered by id so every replica answers alike.
func (c *catalog) service(name, version string) []*Instance {
	addrs := c.byName[name]
	out := make([]*Instance, 0, len(addrs))
	for _, id := range addrs {
		inst := c.instances[id]
		if version == "" || inst.Version == version {
			out = append(out, inst)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// names returns every service name with at least one instance, sorted.
func (c *catalog) names() []string {
	out := make([]string, 0, len(c.byName))
	for name := range c.byName {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
