package fsm

import (
	"encoding/json"
	"github.com/custodes/custodes/fsm/catalog"
	"reflect"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
)

func eventKeys(evs []Event) []string {
	out := []string{}
	for _, ev := range evs {
		key := string(ev.Type)
		if inst, ok := ev.Payload.(*catalog.Instance); ok {
			key += ":" + inst.ID
		}
		out = append(out, key)
	}
	return out
}

func eventIndexes(evs []Event) []uint64 {
	out := []uint64{}
	for _, ev := range evs {
		out = append(out, ev.Index)
	}
	return out
}

func TestEvents(t *testing.T) {
	h := newHarness(t)
	populate(h) // indexes 1..11
	h.index++
	h.fsm.Apply(&raft.Log{Index: h.index, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(testConfiguration)})
	evs, gap, more := h.fsm.Events(0)
	want := []string{"registered:a", "registered:b", "registered:c", "changed:a", "registered:d", "removed:d",
		"changed:b", "critical:b", "registered:e", "removed:c", "membership"}
	if got := eventKeys(evs); gap || !slices.Equal(got, want) {
		t.Fatalf("Events(0) = %v (gap %v), want %v", got, gap, want)
	}
	if got := eventIndexes(evs); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12}) {
		t.Errorf("event indexes = %v", got)
	}
	wantServers := []EventServer{{"n1", "10.0.0.1:7000", "Voter"}, {"n2", "10.0.0.2:7000", "Nonvoter"}}
	if got := evs[len(evs)-1].Servers(); !reflect.DeepEqual(got, wantServers) {
		t.Errorf("membership servers = %+v, want %+v", got, wantServers)
	}
	if b := evs[7].Payload.(*catalog.Instance); b.Status != catalog.StatusCritical || b.StatusOutput != "down" || b.Address != "h:3" {
		t.Errorf("critical event instance = %+v", b)
	}
	if tail, _, _ := h.fsm.Events(9); !slices.Equal(eventIndexes(tail), []uint64{10, 12}) {
		t.Errorf("Events(9) = %v", eventIndexes(tail))
	}
	h.apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"})
	if !isClosed(more) {
		t.Error("Events channel not closed by a later apply")
	}
}

func TestEventRingEvictionAndRestore(t *testing.T) {
	h := newHarness(t)
	h.fsm.events = newEventRing(3)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		h.mustResult(RegisterRequestType, reg(id, "web", "h:"+id))
	}
	for _, tc := range []struct {
		after uint64
		want  []uint64
		gap   bool
	}{
		{0, []uint64{3, 4, 5}, true},
		{1, []uint64{3, 4, 5}, true},
		{2, []uint64{3, 4, 5}, false},
		{4, []uint64{5}, false},
		{5, []uint64{}, false},
	} {
		evs, gap, _ := h.fsm.Events(tc.after)
		if got := eventIndexes(evs); !slices.Equal(got, tc.want) || gap != tc.gap {
			t.Errorf("Events(%d) = %v gap %v, want %v gap %v", tc.after, got, gap, tc.want, tc.gap)
		}
	}

	data := persist(t, h.fsm)
	f := New(DefaultConfig())
	f.Apply(entry(t, 1, RegisterRequestType, reg("x", "web", "h:x")))
	if err := restore(f, data); err != nil {
		t.Fatal(err)
	}
	if evs, gap, _ := f.Events(4); len(evs) != 0 || !gap {
		t.Errorf("after restore Events(4) = %v gap %v, want none and a gap", eventKeys(evs), gap)
	}
	if evs, gap, _ := f.Events(5); len(evs) != 0 || gap {
		t.Errorf("after restore Events(5) = %v gap %v, want none and no gap", eventKeys(evs), gap)
	}
}

// Replicas batch differently, so a batch must yield the events a one-by-one
// apply does, in log order.
func TestEventsInLogOrderWithinBatch(t *testing.T) {
	logs := func() []*raft.Log {
		return []*raft.Log{
			entry(t, 1, RegisterRequestType, reg("a", "web", "h:1")),
			{Index: 2, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(testConfiguration)},
			entry(t, 3, RegisterRequestType, reg("b", "web", "h:2")),
		}
	}
	one, batch := New(DefaultConfig()), New(DefaultConfig())
	for _, l := range logs() {
		one.Apply(l)
	}
	batch.ApplyBatch(logs())
	a, _, _ := one.Events(0)
	b, _, _ := batch.Events(0)
	if !slices.Equal(eventIndexes(a), []uint64{1, 2, 3}) || !slices.Equal(eventIndexes(b), eventIndexes(a)) {
		t.Errorf("event indexes: one by one %v, batched %v; want [1 2 3] for both", eventIndexes(a), eventIndexes(b))
	}

	// The consequence: after evicting 2 then 1 the floor drops to 1, so a
	// reader resuming after 1 is told there is no gap but never sees 2.
	small := New(DefaultConfig())
	small.events = newEventRing(3)
	small.ApplyBatch(logs())
	small.Apply(entry(t, 4, DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}))
	small.Apply(entry(t, 5, DeregisterRequestType, &catalog.DeregisterRequest{ID: "b"}))
	if evs, gap, _ := small.Events(1); !gap && !slices.Contains(eventIndexes(evs), 2) {
		t.Errorf("Events(1) = %v with no gap: event 2 lost silently", eventIndexes(evs))
	}
}

// Events marshal as they did when Event had Instance and Servers fields:
// {"index","type"} plus the payload under its table's field, if any.
func TestEventJSON(t *testing.T) {
	type oldEvent struct {
		Index    uint64            `json:"index"`
		Type     string            `json:"type"`
		Instance *catalog.Instance `json:"instance,omitempty"`
		Servers  []EventServer     `json:"servers,omitempty"`
	}
	h := newHarness(t)
	populate(h)
	h.index++
	h.fsm.Apply(&raft.Log{Index: h.index, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(testConfiguration)})
	h.index++
	h.fsm.Apply(&raft.Log{Index: h.index, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(raft.Configuration{})})
	evs, _, _ := h.fsm.Events(0)
	for _, ev := range evs {
		old := oldEvent{Index: ev.Index, Type: string(ev.Type), Servers: ev.Servers()}
		if inst, ok := ev.Payload.(*catalog.Instance); ok {
			old.Instance = inst
		}
		want, _ := json.Marshal(old)
		got, err := json.Marshal(ev)
		if err != nil || string(got) != string(want) {
			t.Errorf("event %d %s:\n got %s (%v)\nwant %s", ev.Index, ev.Type, got, err, want)
		}
	}
	if evs[0].Key != "service/web" || evs[len(evs)-1].Key != "" {
		t.Errorf("watch keys %q, %q", evs[0].Key, evs[len(evs)-1].Key)
	}
}
