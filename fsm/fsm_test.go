package fsm

import (
	"github.com/custodes/custodes/fsm/catalog"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

var testConfiguration = raft.Configuration{Servers: []raft.Server{
	{Suffrage: raft.Voter, ID: "n1", Address: "10.0.0.1:7000"},
	{Suffrage: raft.Nonvoter, ID: "n2", Address: "10.0.0.2:7000"},
}}

func ptr[T any](v T) *T { return &v }

// entry builds a command log entry at index.
func entry(tb testing.TB, index uint64, typ MessageType, req any) *raft.Log {
	tb.Helper()
	data, err := Encode(typ, req)
	if err != nil {
		tb.Fatalf("Encode(%s): %v", typ, err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data}
}

// harness applies commands to one FSM at increasing log indexes.
type harness struct {
	tb    testing.TB
	fsm   *FSM
	index uint64
}

func newHarness(tb testing.TB) *harness { return &harness{tb: tb, fsm: New(DefaultConfig())} }

func (h *harness) apply(typ MessageType, req any) any {
	h.tb.Helper()
	h.index++
	return h.fsm.Apply(entry(h.tb, h.index, typ, req))
}

func (h *harness) mustResult(typ MessageType, req any) *catalog.Result {
	h.tb.Helper()
	resp := h.apply(typ, req)
	r, ok := resp.(*catalog.Result)
	if !ok {
		h.tb.Fatalf("apply %s %+v at %d: got %#v, want *Result", typ, req, h.index, resp)
	}
	return r
}

func reg(id, name, addr string) *catalog.RegisterRequest {
	return &catalog.RegisterRequest{ID: id, Name: name, Address: addr, Now: t0}
}

// spec is the part of an instance the commands set directly.
type spec struct {
	Name, Kind, Version, Address string
	Tags                         []string
	Meta                         map[string]string
	Check                        *catalog.Check
	Rectify                      *catalog.Rectify
}

func specOf(i catalog.Instance) spec {
	return spec{i.Name, i.Kind, i.Version, i.Address, i.Tags, i.Meta, i.Check, i.Rectify}
}

func sameSpec(a, b spec) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.Version == b.Version && a.Address == b.Address &&
		slices.Equal(a.Tags, b.Tags) && maps.Equal(a.Meta, b.Meta) &&
		reflect.DeepEqual(a.Check, b.Check) && reflect.DeepEqual(a.Rectify, b.Rectify)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestApplyPanicsOnUndecodableEntry(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"unknown type", append([]byte{250}, `{"id":"a"}`...)},
		{"register not json", append([]byte{byte(RegisterRequestType)}, "nope"...)},
		{"register empty body", []byte{byte(RegisterRequestType)}},
		{"update wrong field type", append([]byte{byte(UpdateInstanceRequestType)}, `{"id":5}`...)},
		{"deregister truncated", append([]byte{byte(DeregisterRequestType)}, `{"id":"a"`...)},
		{"set status trailing data", append([]byte{byte(SetStatusRequestType)}, `{"id":"a"} {}`...)},
		{"register bad time", append([]byte{byte(RegisterRequestType)}, `{"id":"a","now":"yesterday"}`...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateEncoded(tc.data); err == nil {
				t.Errorf("ValidateEncoded(%q) = nil, but Apply panics on it", tc.data)
			}
			for _, batch := range []bool{false, true} {
				f := New(DefaultConfig()) // a panicking Apply leaves the FSM unusable
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("batch=%v: no panic", batch)
						}
					}()
					l := &raft.Log{Index: 7, Type: raft.LogCommand, Data: tc.data}
					if batch {
						f.ApplyBatch([]*raft.Log{l})
					} else {
						f.Apply(l)
					}
				}()
			}
		})
	}
}

func TestApplyBatchSkipsNonCommandEntries(t *testing.T) {
	f := New(DefaultConfig())
	_, _, webCh := f.Service("web", "")
	other := func(i uint64, typ raft.LogType) *raft.Log {
		if typ == raft.LogConfiguration {
			return &raft.Log{Index: i, Type: typ, Data: raft.EncodeConfiguration(testConfiguration)}
		}
		return &raft.Log{Index: i, Type: typ, Data: []byte("not a command")}
	}
	logs := []*raft.Log{
		entry(t, 1, RegisterRequestType, reg("a", "web", "10.0.0.1:80")),
		other(2, raft.LogConfiguration),
		entry(t, 3, RegisterRequestType, reg("b", "web", "10.0.0.2:80")),
		entry(t, 4, DeregisterRequestType, &catalog.DeregisterRequest{ID: "zz"}),
		other(5, raft.LogNoop),
		other(6, raft.LogBarrier),
	}
	got := f.ApplyBatch(logs)
	want := []any{
		&catalog.Result{ID: "a", Change: catalog.Created, ChangeVersion: 1, Index: 1}, nil,
		&catalog.Result{ID: "b", Change: catalog.Created, ChangeVersion: 1, Index: 3}, ErrNotFound, nil, nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ApplyBatch = %#v, want %#v", got, want)
	}
	if got := f.AppliedIndex(); got != 4 {
		t.Fatalf("AppliedIndex = %d, want 4 (the last command)", got)
	}
	if !isClosed(webCh) {
		t.Fatal("batch did not wake the web watcher")
	}
	if list, idx, _ := f.Service("web", ""); len(list) != 2 || idx != 3 {
		t.Fatalf("Service(web) = %d instances at %d, want 2 at 3", len(list), idx)
	}

	for _, typ := range []raft.LogType{raft.LogConfiguration, raft.LogNoop, raft.LogBarrier, raft.LogAddPeerDeprecated} {
		if resp := f.Apply(other(10, typ)); resp != nil {
			t.Errorf("Apply(%s) = %#v, want nil", typ, resp)
		}
	}
	if got := f.ApplyBatch([]*raft.Log{other(11, raft.LogConfiguration), other(12, raft.LogNoop)}); !reflect.DeepEqual(got, []any{nil, nil}) {
		t.Errorf("ApplyBatch(non-commands) = %#v", got)
	}
	if got := f.ApplyBatch(nil); len(got) != 0 {
		t.Errorf("ApplyBatch(nil) = %#v", got)
	}
	if got := f.AppliedIndex(); got != 4 {
		t.Fatalf("AppliedIndex after non-commands = %d, want 4", got)
	}
}

// ValidateEncoded accepts exactly what Apply decodes: every well-formed
// command, including ones whose outcome is an error response.
func TestValidateEncodedAcceptsCommands(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		typ MessageType
		req any
	}{
		{RegisterRequestType, &catalog.RegisterRequest{ID: "a", Name: "web", Address: "x", Check: &catalog.Check{TTL: time.Second}, Now: t0}},
		{RegisterRequestType, &catalog.RegisterRequest{}},
		{UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Tags: &[]string{}, Meta: &map[string]string{}}},
		{SetStatusRequestType, &catalog.SetStatusRequest{ID: "a", Status: "bogus"}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}},
	} {
		data, err := Encode(c.typ, c.req)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateEncoded(data); err != nil {
			t.Errorf("ValidateEncoded(%s %+v) = %v", c.typ, c.req, err)
		}
		h.apply(c.typ, c.req) // must not panic
	}
}

func ids(list []catalog.Instance) []string {
	out := []string{}
	for _, inst := range list {
		out = append(out, inst.ID)
	}
	return out
}

func TestServiceFiltersAndOrders(t *testing.T) {
	h := newHarness(t)
	for _, r := range []*catalog.RegisterRequest{
		{ID: "c", Name: "web", Address: "10.0.0.3:80", Version: "v1"},
		{ID: "a", Name: "web", Address: "10.0.0.1:80", Version: "v2"},
		{ID: "b", Name: "web", Address: "10.0.0.2:80", Version: "v1"},
		{ID: "d", Name: "api", Address: "10.0.0.1:80", Version: "v1"},
		{ID: "e", Name: "gone", Address: "10.0.0.1:80"},
	} {
		h.mustResult(RegisterRequestType, r)
	}
	h.mustResult(DeregisterRequestType, &catalog.DeregisterRequest{ID: "e"})
	tests := []struct {
		name, version string
		want          []string
		index         uint64
	}{
		{"web", "", []string{"a", "b", "c"}, 3},
		{"web", "v1", []string{"b", "c"}, 3},
		{"web", "v2", []string{"a"}, 3},
		{"web", "v9", []string{}, 3},
		{"api", "", []string{"d"}, 4},
		{"api", "v2", []string{}, 4},
		{"gone", "", []string{}, 6},
		{"none", "", []string{}, 0},
	}
	for _, tc := range tests {
		list, index, ch := h.fsm.Service(tc.name, tc.version)
		if got := ids(list); !slices.Equal(got, tc.want) || index != tc.index {
			t.Errorf("Service(%q, %q) = %v at %d, want %v at %d", tc.name, tc.version, got, index, tc.want, tc.index)
		}
		if ch == nil || isClosed(ch) {
			t.Errorf("Service(%q, %q): watch channel nil or closed", tc.name, tc.version)
		}
		for _, inst := range list {
			if stored, _ := h.fsm.Instance(inst.ID); !reflect.DeepEqual(stored, inst) {
				t.Errorf("Service(%q) returned %+v, catalog.Instance says %+v", tc.name, inst, stored)
			}
		}
	}
	if got := h.fsm.ServiceNames(); !slices.Equal(got, []string{"api", "web"}) {
		t.Errorf("ServiceNames = %v", got)
	}
	if got := ids(h.fsm.Instances()); !slices.Equal(got, []string{"a", "b", "c", "d"}) || h.fsm.Len() != 4 {
		t.Errorf("Instances = %v, Len = %d", got, h.fsm.Len())
	}
}

func TestServiceWatch(t *testing.T) {
	apply := func(typ MessageType, req any) func(h *harness) { return func(h *harness) { h.apply(typ, req) } }
	upd := func(id, version string) *catalog.UpdateInstanceRequest {
		return &catalog.UpdateInstanceRequest{ID: id, Version: &version, Now: t1}
	}
	tests := []struct {
		name   string
		action func(h *harness)
		wake   bool
		index  uint64 // web's service index afterwards
	}{
		{"register web instance", apply(RegisterRequestType, reg("n", "web", "10.0.0.9:80")), true, 4},
		{"re-register web changed", apply(RegisterRequestType, &catalog.RegisterRequest{Name: "web", Address: "10.0.0.1:80", Version: "v2"}), true, 4},
		{"re-register web identical", apply(RegisterRequestType, reg("x", "web", "10.0.0.1:80")), false, 2},
		{"update web", apply(UpdateInstanceRequestType, upd("a", "v2")), true, 4},
		{"update web address", apply(UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Address: ptr("h:1")}), true, 4},
		{"update web identical", apply(UpdateInstanceRequestType, upd("a", "")), false, 2},
		{"update web conflict", apply(UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Address: ptr("10.0.0.2:80")}), false, 2},
		{"set web status", apply(SetStatusRequestType, &catalog.SetStatusRequest{ID: "a", Status: catalog.StatusCritical}), true, 4},
		{"set web status again", apply(SetStatusRequestType, &catalog.SetStatusRequest{ID: "a", Status: catalog.StatusPassing}), false, 2},
		{"deregister web", apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}), true, 4},
		{"register api", apply(RegisterRequestType, reg("n", "api", "10.0.0.9:80")), false, 2},
		{"update api", apply(UpdateInstanceRequestType, upd("c", "v2")), false, 2},
		{"deregister api", apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "c"}), false, 2},
		{"unknown id", apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "zz"}), false, 2},
		{"register conflict", apply(RegisterRequestType, reg("c", "web", "10.0.0.9:80")), false, 2},
		{"non-command entries", func(h *harness) {
			h.fsm.ApplyBatch([]*raft.Log{{Index: 4, Type: raft.LogNoop}, {Index: 5, Type: raft.LogBarrier}})
		}, false, 2},
		{"batch touching web", func(h *harness) {
			h.fsm.ApplyBatch([]*raft.Log{entry(t, 4, RegisterRequestType, reg("n", "web", "n:1")),
				entry(t, 5, DeregisterRequestType, &catalog.DeregisterRequest{ID: "n"})})
		}, true, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustResult(RegisterRequestType, reg("a", "web", "10.0.0.1:80"))
			h.mustResult(RegisterRequestType, reg("b", "web", "10.0.0.2:80"))
			h.mustResult(RegisterRequestType, reg("c", "api", "10.0.0.1:80"))
			_, _, web := h.fsm.Service("web", "")
			_, _, web2 := h.fsm.Service("web", "v1") // the watch is per name
			_, _, api := h.fsm.Service("api", "")
			apiIndex := h.fsm.catalog.ServiceIndex("api")
			tc.action(h)
			if isClosed(web) != tc.wake || isClosed(web2) != tc.wake {
				t.Errorf("web watch closed = %v, want %v", isClosed(web), tc.wake)
			}
			_, index, next := h.fsm.Service("web", "")
			if index != tc.index {
				t.Errorf("web index = %d, want %d", index, tc.index)
			}
			if isClosed(next) {
				t.Error("the watch returned after a change is already closed")
			}
			if apiChanged := h.fsm.catalog.ServiceIndex("api") != apiIndex; isClosed(api) != apiChanged {
				t.Errorf("api watch closed = %v, api index changed = %v", isClosed(api), apiChanged)
			}
		})
	}
}

func TestServiceIndexAdvancesOnEveryChange(t *testing.T) {
	h := newHarness(t)
	steps := []struct {
		typ   MessageType
		req   any
		index uint64
		ids   []string
	}{
		{RegisterRequestType, reg("a", "web", "h:1"), 1, []string{"a"}},
		{RegisterRequestType, reg("b", "web", "h:2"), 2, []string{"a", "b"}},
		{UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Kind: ptr("k")}, 3, []string{"a", "b"}},
		{RegisterRequestType, &catalog.RegisterRequest{Name: "web", Address: "h:1", Kind: "k"}, 3, []string{"a", "b"}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}, 5, []string{"b"}},
		{RegisterRequestType, reg("c", "other", "h:1"), 5, []string{"b"}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "b"}, 7, []string{}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "b"}, 7, []string{}},
		{RegisterRequestType, reg("d", "web", "h:1"), 9, []string{"d"}},
	}
	for i, s := range steps {
		_, _, ch := h.fsm.Service("web", "")
		before := h.fsm.catalog.ServiceIndex("web")
		h.apply(s.typ, s.req)
		list, index, _ := h.fsm.Service("web", "")
		if index != s.index || !slices.Equal(ids(list), s.ids) {
			t.Fatalf("step %d: web = %v at %d, want %v at %d", i, ids(list), index, s.ids, s.index)
		}
		if isClosed(ch) != (index > before) {
			t.Fatalf("step %d: watch closed = %v, index %d -> %d", i, isClosed(ch), before, index)
		}
		if slices.Contains(h.fsm.ServiceNames(), "web") != (len(s.ids) > 0) {
			t.Fatalf("step %d: ServiceNames = %v", i, h.fsm.ServiceNames())
		}
	}
}
