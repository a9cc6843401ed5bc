package fsm

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
)

// queueHarness is a dfsHarness with s4 and four files along the ring
// (each wants 2 copies but d, which wants 1):
//
//	a [s1 s2]   b [s2 s3]   c [s3 s1]   d [s1]
//
// s1 is a's primary and c's backup; s2 backs up a and is backed up by s3
// for b.
func queueHarness(t *testing.T) *harness {
	h := dfsHarness(t)
	h.apply(DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: "s4", Address: "h:4"})
	h.apply(DFSCreateFileRequestType, createReq(1, "bob", "a", 10, "s1", "s2"))
	h.apply(DFSCreateFileRequestType, createReq(2, "bob", "b", 20, "s2", "s3"))
	h.apply(DFSCreateFileRequestType, createReq(3, "bob", "c", 30, "s3", "s1"))
	d := createReq(4, "bob", "d", 40, "s1")
	d.Want = 1
	h.apply(DFSCreateFileRequestType, d)
	return h
}

var queueNames = map[string]string{fid(1): "a", fid(2): "b", fid(3): "c", fid(4): "d", fid(5): "e"}

func setState(id, state string) step {
	return step{name: id + " " + state, typ: DFSSetServerStateRequestType, req: &fileservers.SetStateRequest{ID: id, State: state}}
}

// replicasOf returns every file's replicas by name, "a:s1,s2".
func replicasOf(f *FSM) []string {
	var out []string
	for _, id := range []string{fid(1), fid(2), fid(3), fid(4)} {
		if file, ok := f.File(id); ok {
			out = append(out, fmt.Sprintf("%s:%v", queueNames[id], file.Replicas))
		}
	}
	return out
}

// queueOf returns the replication queue by name with the live copies.
func queueOf(f *FSM) []string {
	var out []string
	for _, file := range f.ReplicationQueue() {
		live, readable, _ := f.LiveCopies(file.ID)
		out = append(out, fmt.Sprintf("%s:%d/%d", queueNames[file.ID], live, readable))
	}
	return out
}

func TestReplicationState(t *testing.T) {
	cases := []struct {
		name     string
		steps    []step
		replicas []string
		queue    []string // name:live/readable, fewest live first, then by id
		lost     int
	}{
		{name: "nothing happened", replicas: []string{"a:[s1 s2]", "b:[s2 s3]", "c:[s3 s1]", "d:[s1]"}},
		{name: "a primary dies", steps: []step{setState("s1", fileservers.StateDead)},
			replicas: []string{"a:[s2 s1]", "b:[s2 s3]", "c:[s3 s1]", "d:[s1]"},
			queue:    []string{"d:0/0", "a:1/1", "c:1/1"}, lost: 1},
		{name: "a backup that is also backed up dies", steps: []step{setState("s2", fileservers.StateDead)},
			replicas: []string{"a:[s1 s2]", "b:[s3 s2]", "c:[s3 s1]", "d:[s1]"},
			queue:    []string{"a:1/1", "b:1/1"}},
		{name: "two ring neighbours die", steps: []step{setState("s1", fileservers.StateDead), setState("s2", fileservers.StateDead)},
			replicas: []string{"a:[s2 s1]", "b:[s3 s2]", "c:[s3 s1]", "d:[s1]"},
			queue:    []string{"a:0/0", "d:0/0", "b:1/1", "c:1/1"}, lost: 2},
		{name: "left counts as dead", steps: []step{setState("s3", fileservers.StateLeft)},
			replicas: []string{"a:[s1 s2]", "b:[s2 s3]", "c:[s1 s3]", "d:[s1]"},
			queue:    []string{"b:1/1", "c:1/1"}},
		{name: "draining: readable, not counted, not lost", steps: []step{setState("s1", fileservers.StateDraining)},
			replicas: []string{"a:[s2 s1]", "b:[s2 s3]", "c:[s3 s1]", "d:[s1]"},
			queue:    []string{"d:0/1", "a:1/2", "c:1/2"}},
		{name: "draining copies come before dead ones", steps: []step{setState("s1", fileservers.StateDraining), setState("s3", fileservers.StateDead)},
			replicas: []string{"a:[s2 s1]", "b:[s2 s3]", "c:[s1 s3]", "d:[s1]"},
			queue:    []string{"c:0/1", "d:0/1", "a:1/2", "b:1/1"}},
		{name: "back alive by registering: nothing reordered", steps: []step{setState("s1", fileservers.StateDead),
			{name: "s1 registers", typ: DFSRegisterServerRequestType, req: &fileservers.RegisterRequest{ID: "s1", Address: "h:1"}}},
			replicas: []string{"a:[s2 s1]", "b:[s2 s3]", "c:[s3 s1]", "d:[s1]"}},
		{name: "back alive by state: nothing reordered", steps: []step{setState("s1", fileservers.StateDraining), setState("s1", fileservers.StateAlive)},
			replicas: []string{"a:[s2 s1]", "b:[s2 s3]", "c:[s3 s1]", "d:[s1]"}},
		{name: "set replicas after a copy", steps: []step{setState("s1", fileservers.StateDead),
			{name: "a copied to s3", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: fid(1), Version: 1, Replicas: []string{"s2", "s3"}}},
			{name: "stale version", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: fid(3), Version: 2, Replicas: []string{"s3", "s4"}}, want: ErrStaleVersion},
			{name: "c copied to s4, dead s1 kept", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: fid(3), Version: 1, Replicas: []string{"s3", "s4", "s1"}}}},
			replicas: []string{"a:[s2 s3]", "b:[s2 s3]", "c:[s3 s4 s1]", "d:[s1]"},
			queue:    []string{"d:0/0"}, lost: 1},
		{name: "delete takes a file out", steps: []step{setState("s1", fileservers.StateDead),
			{name: "delete d", typ: DFSDeleteFileRequestType, req: &files.DeleteRequest{ID: fid(4), By: "bob"}}},
			replicas: []string{"a:[s2 s1]", "b:[s2 s3]", "c:[s3 s1]"},
			queue:    []string{"a:1/1", "c:1/1"}},
		{name: "create and update requeue", steps: []step{setState("s4", fileservers.StateDead),
			{name: "e on s4", typ: DFSCreateFileRequestType, req: createReq(5, "bob", "e", 1, "s4", "s1")},
			{name: "d on s4", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: fid(4), Version: 1, Replicas: []string{"s4"}}}},
			replicas: []string{"a:[s1 s2]", "b:[s2 s3]", "c:[s3 s1]", "d:[s4]"},
			queue:    []string{"d:0/0", "e:1/1"}, lost: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := queueHarness(t)
			run(t, h, tc.steps)
			if got := replicasOf(h.fsm); !reflect.DeepEqual(got, tc.replicas) {
				t.Errorf("replicas %v, want %v", got, tc.replicas)
			}
			if got := queueOf(h.fsm); !reflect.DeepEqual(got, tc.queue) && len(got)+len(tc.queue) > 0 {
				t.Errorf("queue %v, want %v", got, tc.queue)
			}
			sum := h.fsm.DFSSummary()
			if sum.Queue != len(tc.queue) || sum.UnderReplicated != sum.Queue || sum.Lost != tc.lost {
				t.Errorf("summary %+v, want queue %d lost %d", sum, len(tc.queue), tc.lost)
			}
			// The kept queue is the one the tables imply.
			if want := buildQueue(h.fsm.servers, h.fsm.files); !reflect.DeepEqual(h.fsm.queue, want) {
				t.Errorf("kept queue %v, tables imply %v", h.fsm.queue, want)
			}
		})
	}
}

// A reorder stores the file anew at the command's index and wakes its
// watch; files whose order stands are left alone.
func TestReorderIndexAndWatch(t *testing.T) {
	h := queueHarness(t)
	before, _ := h.fsm.File(fid(3))
	h.fsm.mu.Lock()
	ch := h.fsm.watch(FileWatchKey(fid(1)))
	h.fsm.mu.Unlock()
	h.apply(DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: "s1", State: fileservers.StateDead})
	select {
	case <-ch:
	default:
		t.Fatal("the reordered file's watch was not woken")
	}
	if a, _ := h.fsm.File(fid(1)); a.ModifyIndex != h.index || a.Version != 1 {
		t.Fatalf("reordered: %+v at %d", a, h.index)
	}
	if c, _ := h.fsm.File(fid(3)); c.ModifyIndex != before.ModifyIndex {
		t.Fatal("a file whose order stood was stored anew")
	}
	// One event: the server's.
	evs, _, _ := h.fsm.Events(h.index - 1)
	if len(evs) != 1 || evs[0].Type != EventFileServer {
		t.Fatalf("events %+v", evs)
	}
}

func TestSetReplicasReplicatedEvent(t *testing.T) {
	h := queueHarness(t)
	h.apply(DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: "s1", State: fileservers.StateDead})
	fields := func() []string {
		evs, _, _ := h.fsm.Events(h.index - 1)
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Field)
		}
		return out
	}
	// Still short of copies (s1 is dead): replicas only.
	h.apply(DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: fid(1), Version: 1, Replicas: []string{"s2", "s1"}})
	if got := fields(); !reflect.DeepEqual(got, []string{FileReplicas}) {
		t.Fatalf("events %v", got)
	}
	res := h.apply(DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: fid(1), Version: 1, Replicas: []string{"s2", "s4", "s1"}})
	if got := fields(); !reflect.DeepEqual(got, []string{FileReplicas, FileReplicated}) {
		t.Fatalf("events %v", got)
	}
	if r := res.(*files.Result); r.Old == nil || !reflect.DeepEqual(r.File.Replicas, []string{"s2", "s4", "s1"}) {
		t.Fatalf("%+v", r)
	}
	want := map[string][2]int64{"s1": {3, 80}, "s2": {2, 30}, "s3": {2, 50}, "s4": {1, 10}}
	if got := counts(h.fsm); !reflect.DeepEqual(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	// Refusals: stale version, unknown server, and (Validate) duplicates.
	if err, _ := h.apply(DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: fid(1), Version: 2, Replicas: []string{"s2"}}).(error); !errors.Is(err, ErrStaleVersion) {
		t.Fatalf("stale: %v", err)
	}
	if err, _ := h.apply(DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: fid(1), Version: 1, Replicas: []string{"s9"}}).(error); !errors.Is(err, ErrServerNotFound) {
		t.Fatalf("unknown server: %v", err)
	}
	if err := h.fsm.Validate(DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: fid(1), Version: 1, Replicas: []string{"s2", "s2"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("twice: %v", err)
	}
}

func TestReplicationQueueSurvivesSnapshot(t *testing.T) {
	h := queueHarness(t)
	h.apply(DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: "s1", State: fileservers.StateDraining})
	h.apply(DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: "s2", State: fileservers.StateDead})
	data := persist(t, h.fsm)
	back := New(DefaultConfig())
	if err := restore(back, data); err != nil {
		t.Fatal(err)
	}
	if got, want := queueOf(back), queueOf(h.fsm); !reflect.DeepEqual(got, want) || len(want) != 4 {
		t.Fatalf("queue after restore %v, before %v", got, want)
	}
	if back.DFSSummary() != h.fsm.DFSSummary() {
		t.Fatalf("summary %+v, before %+v", back.DFSSummary(), h.fsm.DFSSummary())
	}
	if !reflect.DeepEqual(replicasOf(back), replicasOf(h.fsm)) {
		t.Fatal("replica order lost")
	}
}
