package catalog

import (
	"reflect"
	"testing"
	"time"

	"maps"
	"slices"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func ptr[T any](v T) *T { return &v }

// op names a command in the steps below.
type op string

const (
	R op = "register"
	U op = "update-instance"
	D op = "deregister"
	S op = "set-status"
)

type step struct {
	typ  op
	req  any
	want any // *Result, or the sentinel error
}

// harness applies requests to one table at increasing indexes, as fsm
// would: the response is the *Result or the business error.
type harness struct {
	tb    testing.TB
	tbl   *Table
	index uint64
}

func newHarness(tb testing.TB) *harness { return &harness{tb: tb, tbl: New()} }

func (h *harness) apply(_ op, req any) any {
	h.tb.Helper()
	h.index++
	var (
		res  *Result
		effs []Effect
		err  error
	)
	switch r := req.(type) {
	case *RegisterRequest:
		res, effs, err = h.tbl.Register(h.index, r)
	case *UpdateInstanceRequest:
		res, effs, err = h.tbl.UpdateInstance(h.index, r)
	case *DeregisterRequest:
		res, effs, err = h.tbl.Deregister(h.index, r)
	case *SetStatusRequest:
		res, effs, err = h.tbl.SetStatus(h.index, r)
	default:
		h.tb.Fatalf("unknown request %T", req)
	}
	if err != nil {
		if res != nil || effs != nil {
			h.tb.Fatalf("%T: error %v with result %+v and effects %+v", req, err, res, effs)
		}
		return err
	}
	// An effect exactly when something changed, naming the instance.
	if (res.Change == Unchanged) != (len(effs) == 0) || (len(effs) > 0 && (effs[0].Change != res.Change || effs[0].Instance.ID != res.ID)) {
		h.tb.Fatalf("%T: result %+v with effects %+v", req, res, effs)
	}
	return res
}

func (h *harness) instance(id string) (Instance, bool) {
	inst, ok := h.tbl.Get(id)
	if !ok {
		return Instance{}, false
	}
	return inst.Clone(), true
}

func reg(id, name, addr string) *RegisterRequest {
	return &RegisterRequest{ID: id, Name: name, Address: addr, Now: t0}
}

// spec is the part of an instance the commands set directly.
type spec struct {
	Name, Kind, Version, Address string
	Tags                         []string
	Meta                         map[string]string
	Check                        *Check
	Rectify                      *Rectify
}

func specOf(i Instance) spec {
	return spec{i.Name, i.Kind, i.Version, i.Address, i.Tags, i.Meta, i.Check, i.Rectify}
}

func sameSpec(a, b spec) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.Version == b.Version && a.Address == b.Address &&
		slices.Equal(a.Tags, b.Tags) && maps.Equal(a.Meta, b.Meta) &&
		reflect.DeepEqual(a.Check, b.Check) && reflect.DeepEqual(a.Rectify, b.Rectify)
}

// runSteps applies steps at indexes 1.. and checks each response plus the
// invariants every response implies about the stored instance.
func runSteps(t *testing.T, h *harness, steps []step) {
	t.Helper()
	for i, s := range steps {
		before := h.tbl.Clone()
		got := h.apply(s.typ, s.req)
		if want, ok := s.want.(error); ok {
			if got != want {
				t.Fatalf("step %d (%s): got %#v, want %v", i, s.typ, got, want)
			}
		} else if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d (%s): got %#v, want %#v", i, s.typ, got, s.want)
		}
		r, ok := got.(*Result)
		if !ok || r.Change == Unchanged {
			if !reflect.DeepEqual(before, h.tbl) {
				t.Fatalf("step %d (%s -> %v): state changed", i, s.typ, got)
			}
			continue
		}
		inst, found := h.instance(r.ID)
		old := before.instances[r.ID]
		if r.Change == Removed {
			if found || old == nil || r.ChangeVersion != old.ChangeVersion {
				t.Fatalf("step %d: removed %+v: still present %v, before %+v", i, r, found, old)
			}
			continue
		}
		if !found || inst.ModifyIndex != r.Index || inst.ChangeVersion != r.ChangeVersion {
			t.Fatalf("step %d: instance %+v does not match %+v", i, inst, r)
		}
		if err := checkTransition(old, &inst, r, requestTime(s.req)); err != "" {
			t.Fatalf("step %d (%s): %s\nbefore %+v\nafter  %+v", i, s.typ, err, old, inst)
		}
	}
}

func requestTime(req any) time.Time {
	switch req := req.(type) {
	case *RegisterRequest:
		return req.Now
	case *UpdateInstanceRequest:
		return req.Now
	case *SetStatusRequest:
		return req.Now
	}
	return time.Time{}
}

// checkTransition checks what a successful change must and must not touch.
func checkTransition(old, inst *Instance, r *Result, now time.Time) string {
	switch r.Change {
	case Created:
		if old != nil || r.ChangeVersion != 1 || inst.CreateIndex != r.Index ||
			!inst.RegisteredAt.Equal(now) || !inst.UpdatedAt.Equal(now) ||
			inst.Status != StatusPassing || !inst.StatusSince.Equal(now) {
			return "bad creation"
		}
	case Changed:
		if old == nil || inst.ChangeVersion != old.ChangeVersion+1 || !inst.UpdatedAt.Equal(now) ||
			inst.ID != old.ID || inst.Name != old.Name || inst.CreateIndex != old.CreateIndex ||
			!inst.RegisteredAt.Equal(old.RegisteredAt) || inst.Status != old.Status {
			return "bad change"
		}
	case Passing, Critical:
		if old == nil || inst.Status != string(r.Change) || !inst.StatusSince.Equal(now) ||
			inst.ChangeVersion != old.ChangeVersion || !inst.UpdatedAt.Equal(old.UpdatedAt) ||
			!sameSpec(specOf(*inst), specOf(*old)) {
			return "bad status transition"
		}
	default:
		return "unexpected change " + string(r.Change)
	}
	return ""
}

func TestCommands(t *testing.T) {
	base := func() *RegisterRequest {
		return &RegisterRequest{ID: "a", Name: "web", Address: "10.0.0.1:80", Version: "v1",
			Tags: []string{"x", "y"}, Meta: map[string]string{"k": "v"}, Now: t0}
	}
	again := func(mut func(*RegisterRequest)) *RegisterRequest {
		r := base()
		r.ID, r.Now = "ignored", t1
		mut(r)
		return r
	}
	upd := func(mut func(*UpdateInstanceRequest)) *UpdateInstanceRequest {
		r := &UpdateInstanceRequest{ID: "a", Now: t1}
		mut(r)
		return r
	}
	res := func(id string, c Change, cv, index uint64) *Result {
		return &Result{ID: id, Change: c, ChangeVersion: cv, Index: index}
	}
	created, unchanged, changed := res("a", Created, 1, 1), res("a", Unchanged, 1, 1), res("a", Changed, 2, 2)
	status := func(id, st string, now time.Time) *SetStatusRequest {
		return &SetStatusRequest{ID: id, Status: st, Output: "out " + st, Now: now}
	}
	check := func(interval time.Duration) *Check {
		return &Check{HTTP: "http://x/health", Interval: interval, TTL: time.Minute}
	}
	baseSpec := spec{"web", DefaultKind, "v1", "10.0.0.1:80", []string{"x", "y"}, map[string]string{"k": "v"}, nil, nil}
	with := func(mut func(*spec)) spec { s := baseSpec; mut(&s); return s }

	tests := []struct {
		name  string
		steps []step
		want  map[string]*spec // final specs by id; nil means absent
	}{
		{"register creates with default kind", []step{{R, base(), created}},
			map[string]*spec{"a": &baseSpec}},
		{"register keeps explicit kind", []step{{R, func() *RegisterRequest { r := base(); r.Kind = "sidecar"; return r }(), created}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Kind = "sidecar" }))}},
		{"re-register identical", []step{{R, base(), created}, {R, again(func(*RegisterRequest) {}), unchanged}},
			map[string]*spec{"a": &baseSpec, "ignored": nil}},
		{"re-register spelling out default kind", []step{{R, base(), created}, {R, again(func(r *RegisterRequest) { r.Kind = DefaultKind }), unchanged}}, nil},
		{"re-register new version", []step{{R, base(), created}, {R, again(func(r *RegisterRequest) { r.Version = "v2" }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Version = "v2" })), "ignored": nil}},
		{"re-register new kind", []step{{R, base(), created}, {R, again(func(r *RegisterRequest) { r.Kind = "gateway" }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Kind = "gateway" }))}},
		{"re-register reordered tags", []step{{R, base(), created}, {R, again(func(r *RegisterRequest) { r.Tags = []string{"y", "x"} }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Tags = []string{"y", "x"} }))}},
		{"re-register dropping tags", []step{{R, base(), created}, {R, again(func(r *RegisterRequest) { r.Tags = nil }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Tags = nil }))}},
		{"re-register new meta", []step{{R, base(), created}, {R, again(func(r *RegisterRequest) { r.Meta = map[string]string{"k": "w"} }), changed},
			{R, again(func(r *RegisterRequest) { r.Meta = map[string]string{"k": "w"}; r.Now = t1.Add(time.Hour) }), res("a", Unchanged, 2, 2)}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Meta = map[string]string{"k": "w"} }))}},
		{"same name other address is another instance", []step{{R, base(), created},
			{R, func() *RegisterRequest { r := base(); r.ID, r.Address = "b", "10.0.0.2:80"; return r }(), res("b", Created, 1, 2)}},
			map[string]*spec{"a": &baseSpec, "b": ptr(with(func(s *spec) { s.Address = "10.0.0.2:80" }))}},
		{"same address other name is another instance", []step{{R, base(), created},
			{R, func() *RegisterRequest { r := base(); r.ID, r.Name = "b", "api"; return r }(), res("b", Created, 1, 2)}},
			map[string]*spec{"a": &baseSpec, "b": ptr(with(func(s *spec) { s.Name = "api" }))}},
		{"new pair with a taken id conflicts", []step{{R, base(), created}, {R, reg("a", "web", "10.0.0.9:80"), ErrConflict}},
			map[string]*spec{"a": &baseSpec}},
		{"new pair without id conflicts", []step{{R, reg("", "web", "10.0.0.1:80"), ErrConflict}}, nil},

		{"update unknown id", []step{{U, upd(func(r *UpdateInstanceRequest) { r.ID = "nope"; r.Version = ptr("v2") }), ErrNotFound}}, nil},
		{"update version", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) { r.Version = ptr("v2") }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Version = "v2" }))}},
		{"update kind", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) { r.Kind = ptr("gateway") }), changed},
			{U, upd(func(r *UpdateInstanceRequest) { r.Kind = ptr("") }), res("a", Changed, 3, 3)}},
			map[string]*spec{"a": &baseSpec}},
		{"update empty kind is default kind", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) { r.Kind = ptr("") }), unchanged}}, nil},
		{"update tags", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) { r.Tags = &[]string{"z"} }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Tags = []string{"z"} }))}},
		{"update meta", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) { r.Meta = &map[string]string{} }), changed}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Meta = nil }))}},
		{"update address frees the old one", []step{{R, base(), created},
			{U, upd(func(r *UpdateInstanceRequest) { r.Address = ptr("10.0.0.2:80") }), changed},
			{R, func() *RegisterRequest { r := base(); r.ID = "b"; return r }(), res("b", Created, 1, 3)},
			{R, again(func(r *RegisterRequest) { r.Address = "10.0.0.2:80" }), res("a", Unchanged, 2, 2)}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Address = "10.0.0.2:80" })), "b": &baseSpec}},
		{"update with identical values", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) {
			r.Version, r.Kind, r.Address = ptr("v1"), ptr(DefaultKind), ptr("10.0.0.1:80")
			r.Tags, r.Meta = &[]string{"x", "y"}, &map[string]string{"k": "v"}
		}), unchanged}, {U, upd(func(*UpdateInstanceRequest) {}), unchanged}}, map[string]*spec{"a": &baseSpec}},
		{"update address onto another instance conflicts", []step{{R, base(), created},
			{R, reg("b", "web", "10.0.0.2:80"), res("b", Created, 1, 2)},
			{U, upd(func(r *UpdateInstanceRequest) { r.Address = ptr("10.0.0.2:80"); r.Version = ptr("v9") }), ErrConflict},
			{R, reg("c", "web", "10.0.0.2:80"), res("b", Unchanged, 1, 2)},
			{U, upd(func(r *UpdateInstanceRequest) { r.Address = ptr("10.0.0.3:80") }), res("a", Changed, 2, 5)}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Address = "10.0.0.3:80" })), "c": nil}},
		{"update address onto another service's address", []step{{R, base(), created},
			{R, reg("b", "api", "10.0.0.2:80"), res("b", Created, 1, 2)},
			{U, upd(func(r *UpdateInstanceRequest) { r.Address = ptr("10.0.0.2:80") }), res("a", Changed, 2, 3)}}, nil},

		{"deregister", []step{{R, base(), created}, {U, upd(func(r *UpdateInstanceRequest) { r.Version = ptr("v2") }), changed},
			{D, &DeregisterRequest{ID: "a"}, res("a", Removed, 2, 3)},
			{D, &DeregisterRequest{ID: "a"}, ErrNotFound},
			{U, upd(func(r *UpdateInstanceRequest) { r.Version = ptr("v3") }), ErrNotFound}},
			map[string]*spec{"a": nil}},
		{"deregister then register again", []step{{R, base(), created}, {D, &DeregisterRequest{ID: "a"}, res("a", Removed, 1, 2)},
			{R, func() *RegisterRequest { r := base(); r.ID = "b"; return r }(), res("b", Created, 1, 3)}},
			map[string]*spec{"a": nil, "b": &baseSpec}},
		{"re-register with check and rectify", []step{
			{R, func() *RegisterRequest {
				r := base()
				r.Check, r.Rectify = check(time.Second), &Rectify{URL: "u"}
				return r
			}(), created},
			{R, again(func(r *RegisterRequest) { r.Check, r.Rectify = check(time.Second), &Rectify{URL: "u"} }), unchanged},
			{R, again(func(r *RegisterRequest) { r.Check, r.Rectify = check(2*time.Second), &Rectify{URL: "u"} }), res("a", Changed, 2, 3)},
			{R, again(func(r *RegisterRequest) { r.Check, r.Rectify = check(2*time.Second), &Rectify{URL: "v"} }), res("a", Changed, 3, 4)},
			{R, again(func(r *RegisterRequest) { r.Check = check(2 * time.Second) }), res("a", Changed, 4, 5)},
			{R, again(func(r *RegisterRequest) {}), res("a", Changed, 5, 6)}},
			map[string]*spec{"a": &baseSpec}},
		{"set status transitions", []step{{R, base(), created},
			{S, status("a", StatusCritical, t1), res("a", Critical, 1, 2)},
			{S, status("a", StatusCritical, t1.Add(time.Hour)), res("a", Unchanged, 1, 2)},
			{R, again(func(r *RegisterRequest) { r.Version = "v2" }), res("a", Changed, 2, 4)},
			{S, status("a", StatusPassing, t1.Add(2*time.Hour)), res("a", Passing, 2, 5)},
			{U, upd(func(r *UpdateInstanceRequest) { r.Version = ptr("v3") }), res("a", Changed, 3, 6)},
			{S, status("a", StatusPassing, t1), res("a", Unchanged, 3, 6)}},
			map[string]*spec{"a": ptr(with(func(s *spec) { s.Version = "v3" }))}},
		{"set status invalid", []step{{R, base(), created},
			{S, status("a", "warning", t1), ErrInvalidStatus}, {S, status("a", "", t1), ErrInvalidStatus},
			{S, status("a", "Critical", t1), ErrInvalidStatus}}, nil},
		{"set status unknown id", []step{{S, status("nope", StatusCritical, t1), ErrNotFound},
			{S, status("nope", "warning", t1), ErrNotFound}}, nil},
		{"deregister unknown id", []step{{D, &DeregisterRequest{ID: "nope"}, ErrNotFound}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			runSteps(t, h, tc.steps)
			for id, want := range tc.want {
				inst, ok := h.instance(id)
				if want == nil {
					if ok {
						t.Errorf("instance %q = %+v, want absent", id, inst)
					}
				} else if !ok || !sameSpec(specOf(inst), *want) {
					t.Errorf("instance %q = %+v (found %v), want %+v", id, specOf(inst), ok, *want)
				}
			}
			// The (name, address) index agrees with the instances.
			for _, name := range h.tbl.Names() {
				for _, inst := range h.tbl.Service(name, "") {
					if inst.Name != name || h.tbl.byName[name][inst.Address] != inst.ID {
						t.Errorf("index out of step for %+v", inst)
					}
				}
			}
		})
	}
}

func TestCheckedTracksChecksOnly(t *testing.T) {
	tbl := New()
	now := time.Unix(1700000000, 0).UTC()
	check := &Check{HTTP: "http://h:1/alive", Interval: time.Second, Timeout: time.Millisecond, FailuresBeforeCritical: 1, SuccessesBeforePassing: 1}
	ids := func() []string {
		var out []string
		for _, inst := range tbl.Checked() {
			out = append(out, inst.ID)
		}
		return out
	}
	tbl.Register(1, &RegisterRequest{ID: "a", Name: "web", Address: "h:1", Check: check, Now: now})
	tbl.Register(2, &RegisterRequest{ID: "b", Name: "web", Address: "h:2", Now: now})
	if got := ids(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("checked after register: %v", got)
	}
	// Re-registering without the check drops it; with one adds it.
	tbl.Register(3, &RegisterRequest{ID: "x", Name: "web", Address: "h:1", Now: now})
	tbl.Register(4, &RegisterRequest{ID: "y", Name: "web", Address: "h:2", Check: check, Now: now})
	if got := ids(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("checked after re-registration: %v", got)
	}
	tbl.Deregister(5, &DeregisterRequest{ID: "b"})
	if got := ids(); len(got) != 0 {
		t.Fatalf("checked after deregister: %v", got)
	}
}
