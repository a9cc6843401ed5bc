package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
)

func fid(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

// dfsHarness has users bob and eve and servers s1, s2, s3 (ring 1-3).
func dfsHarness(t testing.TB) *harness {
	h := newHarness(t)
	h.apply(ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: h64("0")})
	for i, name := range []string{"bob", "eve"} {
		h.apply(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: name, Roles: []string{acl.RoleServicesRead}, TokenHash: h64(fmt.Sprint(i + 1))})
	}
	for i := 1; i <= 3; i++ {
		h.apply(DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: fmt.Sprint("s", i), Address: fmt.Sprint("h:", i)})
	}
	return h
}

func createReq(n int, owner, name string, size int64, replicas ...string) *files.CreateRequest {
	return &files.CreateRequest{ID: fid(n), Owner: owner, Name: name, Size: size, SHA256: h64("a"), Replicas: replicas, Want: 2, Time: t0}
}

// counts returns each server's (files, bytes).
func counts(f *FSM) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, s := range f.Servers() {
		out[s.ID] = [2]int64{s.Files, s.Bytes}
	}
	return out
}

// step is one command through Precheck, Validate and Apply. want is the
// business error (nil for success); applyOnly marks what only Apply can
// judge (a lock's expiry), where Precheck must answer nil.
type step struct {
	name      string
	typ       MessageType
	req       any
	want      error
	applyOnly bool
	after     func(t *testing.T, h *harness, resp any)
}

func run(t *testing.T, h *harness, steps []step) {
	t.Helper()
	for _, s := range steps {
		if err := h.fsm.Validate(s.typ, s.req); err != nil {
			t.Fatalf("%s: invalid: %v", s.name, err)
		}
		pre := h.fsm.Precheck(s.typ, s.req)
		if s.applyOnly && pre != nil || !s.applyOnly && !errors.Is(pre, s.want) || s.want == nil && pre != nil {
			t.Fatalf("%s: precheck %v, want %v", s.name, pre, s.want)
		}
		before := persist(t, h.fsm)
		resp := h.apply(s.typ, s.req)
		if s.want != nil {
			if err, _ := resp.(error); !errors.Is(err, s.want) {
				t.Fatalf("%s: got %#v, want %v", s.name, resp, s.want)
			}
			// A refused command changes nothing (but the applied index).
			var a, b snapshotData
			_ = json.Unmarshal(before, &a)
			_ = json.Unmarshal(persist(t, h.fsm), &b)
			if !reflect.DeepEqual(a.Tables, b.Tables) {
				t.Fatalf("%s: refused, but the state changed", s.name)
			}
			continue
		}
		if err, ok := resp.(error); ok {
			t.Fatalf("%s: %v", s.name, err)
		}
		// The result crosses the wire as JSON and decodes to its type.
		data, _ := json.Marshal(resp)
		back, err := DecodeResult(s.typ, data)
		if err != nil || reflect.TypeOf(back) != reflect.TypeOf(resp) {
			t.Fatalf("%s: decode result: %T %v", s.name, back, err)
		}
		if s.after != nil {
			s.after(t, h, resp)
		}
	}
}

func TestDFSCommands(t *testing.T) {
	h := dfsHarness(t)
	f1 := fid(1)
	wantCounts := func(want map[string][2]int64) func(*testing.T, *harness, any) {
		return func(t *testing.T, h *harness, _ any) {
			t.Helper()
			if got := counts(h.fsm); !reflect.DeepEqual(got, want) {
				t.Fatalf("counts %v, want %v", got, want)
			}
		}
	}
	lock := func(hash string, at time.Time) *locks.LockRequest {
		return &locks.LockRequest{File: f1, Holder: "bob", TokenHash: h64(hash), TTL: 10_000, Time: at}
	}
	update := func(version, fence uint64, hash string, at time.Time) *files.UpdateRequest {
		return &files.UpdateRequest{ID: f1, Version: version, Size: 50, SHA256: h64("b"), Replicas: []string{"s2", "s3"}, TokenHash: h64(hash), Fence: fence, Time: at}
	}
	run(t, h, []step{
		{name: "state of unknown server", typ: DFSSetServerStateRequestType, req: &fileservers.SetStateRequest{ID: "s9", State: fileservers.StateDead}, want: ErrServerNotFound},
		{name: "server left", typ: DFSSetServerStateRequestType, req: &fileservers.SetStateRequest{ID: "s3", State: fileservers.StateLeft},
			after: func(t *testing.T, h *harness, resp any) {
				if r := resp.(*fileservers.Result); r.Server.State != fileservers.StateLeft || r.Server.Ring != 3 {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "server back", typ: DFSRegisterServerRequestType, req: &fileservers.RegisterRequest{ID: "s3", Address: "h:33"},
			after: func(t *testing.T, h *harness, resp any) {
				if r := resp.(*fileservers.Result); r.Server.State != fileservers.StateAlive || r.Server.Ring != 3 || r.Server.Address != "h:33" {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "create", typ: DFSCreateFileRequestType, req: createReq(1, "bob", "a/x", 100, "s1", "s2"),
			after: wantCounts(map[string][2]int64{"s1": {1, 100}, "s2": {1, 100}, "s3": {0, 0}})},
		{name: "create, id taken", typ: DFSCreateFileRequestType, req: createReq(1, "eve", "y", 1, "s1"), want: ErrFileExists},
		{name: "create, name taken", typ: DFSCreateFileRequestType, req: createReq(2, "bob", "a/x", 1, "s1"), want: ErrFileExists},
		{name: "create, unknown server", typ: DFSCreateFileRequestType, req: createReq(2, "bob", "b", 1, "s1", "s9"), want: ErrServerNotFound},
		{name: "lock unknown file", typ: DFSLockRequestType, req: &locks.LockRequest{File: fid(9), Holder: "bob", TokenHash: h64("a"), TTL: 1000, Time: t0}, want: ErrFileNotFound},
		{name: "lock", typ: DFSLockRequestType, req: lock("a", t0),
			after: func(t *testing.T, h *harness, resp any) {
				if r := resp.(*locks.Result); !r.Granted || r.Lock.Fence != 1 {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "lock refused", typ: DFSLockRequestType, req: lock("b", t0.Add(time.Second)),
			after: func(t *testing.T, h *harness, resp any) {
				if r := resp.(*locks.Result); r.Granted || r.Lock.TokenHash != h64("a") {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "update unknown", typ: DFSUpdateFileRequestType, req: &files.UpdateRequest{ID: fid(9), Version: 2, SHA256: h64("b"), Replicas: []string{"s1"}, TokenHash: h64("a"), Fence: 1}, want: ErrFileNotFound},
		{name: "update stale", typ: DFSUpdateFileRequestType, req: update(3, 1, "a", t0), want: ErrStaleVersion},
		{name: "update other hash", typ: DFSUpdateFileRequestType, req: update(2, 1, "b", t0), want: ErrLockNotHeld},
		{name: "update other fence", typ: DFSUpdateFileRequestType, req: update(2, 2, "a", t0), want: ErrLockNotHeld},
		{name: "update expired", typ: DFSUpdateFileRequestType, req: update(2, 1, "a", t0.Add(10*time.Second)), want: ErrLockNotHeld, applyOnly: true},
		{name: "update unknown server", typ: DFSUpdateFileRequestType, req: &files.UpdateRequest{ID: f1, Version: 2, SHA256: h64("b"), Replicas: []string{"s9"}, TokenHash: h64("a"), Fence: 1, Time: t0}, want: ErrServerNotFound},
		{name: "update", typ: DFSUpdateFileRequestType, req: update(2, 1, "a", t0.Add(time.Second)),
			after: func(t *testing.T, h *harness, resp any) {
				r := resp.(*files.Result)
				if r.File.Version != 2 || r.Old == nil || r.Old.Version != 1 || r.Old.Size != 100 {
					t.Fatalf("%+v", r)
				}
				wantCounts(map[string][2]int64{"s1": {0, 0}, "s2": {1, 50}, "s3": {1, 50}})(t, h, resp)
			}},
		{name: "unlock other hash", typ: DFSUnlockRequestType, req: &locks.UnlockRequest{File: f1, TokenHash: h64("b")}, want: ErrLockNotHeld},
		{name: "unlock unknown file", typ: DFSUnlockRequestType, req: &locks.UnlockRequest{File: fid(9), TokenHash: h64("a")}, want: ErrFileNotFound},
		{name: "unlock", typ: DFSUnlockRequestType, req: &locks.UnlockRequest{File: f1, TokenHash: h64("a")}},
		{name: "unlock twice", typ: DFSUnlockRequestType, req: &locks.UnlockRequest{File: f1, TokenHash: h64("a")}, want: ErrLockNotHeld},
		{name: "share by non-owner", typ: DFSShareRequestType, req: &shares.ShareRequest{File: f1, User: "eve", Mode: shares.ModeRead, By: "eve"}, want: ErrNotOwner},
		{name: "share unknown file", typ: DFSShareRequestType, req: &shares.ShareRequest{File: fid(9), User: "eve", Mode: shares.ModeRead, By: "bob"}, want: ErrFileNotFound},
		{name: "share unknown user", typ: DFSShareRequestType, req: &shares.ShareRequest{File: f1, User: "zed", Mode: shares.ModeRead, By: "bob"}, want: ErrUserNotFound},
		{name: "share with owner", typ: DFSShareRequestType, req: &shares.ShareRequest{File: f1, User: "bob", Mode: shares.ModeRead, By: "bob"}, want: ErrShareWithOwner},
		{name: "share", typ: DFSShareRequestType, req: &shares.ShareRequest{File: f1, User: "eve", Mode: shares.ModeWrite, By: "bob"},
			after: func(t *testing.T, h *harness, _ any) {
				if a := h.fsm.Access(f1, "eve"); a != AccessWrite {
					t.Fatalf("access %q", a)
				}
			}},
		{name: "set replicas stale", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: f1, Version: 1, Replicas: []string{"s1"}}, want: ErrStaleVersion},
		{name: "set replicas unknown", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: fid(9), Version: 1, Replicas: []string{"s1"}}, want: ErrFileNotFound},
		{name: "set replicas unknown server", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: f1, Version: 2, Replicas: []string{"s9"}}, want: ErrServerNotFound},
		{name: "set replicas", typ: DFSSetReplicasRequestType, req: &files.SetReplicasRequest{ID: f1, Version: 2, Replicas: []string{"s1", "s3"}},
			after: wantCounts(map[string][2]int64{"s1": {1, 50}, "s2": {0, 0}, "s3": {1, 50}})},
		{name: "lock again", typ: DFSLockRequestType, req: lock("c", t0.Add(time.Minute))},
		{name: "delete by non-owner", typ: DFSDeleteFileRequestType, req: &files.DeleteRequest{ID: f1, By: "eve"}, want: ErrNotOwner},
		{name: "delete unknown", typ: DFSDeleteFileRequestType, req: &files.DeleteRequest{ID: fid(9), By: "bob"}, want: ErrFileNotFound},
		{name: "delete", typ: DFSDeleteFileRequestType, req: &files.DeleteRequest{ID: f1, By: "bob"},
			after: func(t *testing.T, h *harness, resp any) {
				if r := resp.(*files.Result); r.File.ID != f1 || r.File.Version != 2 {
					t.Fatalf("%+v", r)
				}
				wantCounts(map[string][2]int64{"s1": {0, 0}, "s2": {0, 0}, "s3": {0, 0}})(t, h, resp)
				if _, ok := h.fsm.Lock(f1); ok || h.fsm.locks.Fences() != 0 || h.fsm.shares.Len() != 0 || h.fsm.Access(f1, "eve") != "" {
					t.Fatal("the file's lock or shares outlived it")
				}
				if _, ok := h.fsm.FileByName("bob", "a/x"); ok {
					t.Fatal("by name")
				}
			}},
	})

	var got []string
	evs, _, _ := h.fsm.Events(0)
	for _, ev := range evs {
		if ev.Type == EventFile || ev.Type == EventFileServer {
			got = append(got, fmt.Sprintf("%s %s %s", ev.Type, ev.Key, ev.Field))
		}
	}
	want := []string{
		"file-server file-server/s1 server", "file-server file-server/s2 server", "file-server file-server/s3 server",
		"file-server file-server/s3 server", "file-server file-server/s3 server",
		"file file/" + f1 + " created", "file file/" + f1 + " updated", "file file/" + f1 + " replicas", "file file/" + f1 + " deleted",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n%q\nwant\n%q", got, want)
	}
}

func TestDFSEventJSONAndWatch(t *testing.T) {
	h := dfsHarness(t)
	h.fsm.mu.Lock()
	ch := h.fsm.watch(FileWatchKey(fid(1)))
	h.fsm.mu.Unlock()
	h.apply(DFSCreateFileRequestType, createReq(1, "bob", "x", 1, "s1"))
	select {
	case <-ch:
	default:
		t.Fatal("the file's watch was not woken")
	}
	evs, _, _ := h.fsm.Events(h.index - 1)
	data, _ := json.Marshal(evs[0])
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || string(m["type"]) != `"file"` || m["created"] == nil {
		t.Fatalf("event JSON %s", data)
	}
	// Readers get copies of the stored file.
	evs[0].Payload.(*files.File).Replicas[0] = "x"
	if f, _ := h.fsm.File(fid(1)); f.Replicas[0] != "s1" {
		t.Fatal("an event reader changed the stored file")
	}
}

func TestDFSStamp(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600))
	c := createReq(1, "bob", "x", 1, "s1")
	c.Stamp(at, func() string { return "new-id" })
	u := &files.UpdateRequest{}
	u.Stamp(at, nil)
	l := &locks.LockRequest{}
	l.Stamp(at, nil)
	for _, tm := range []time.Time{c.Time, u.Time, l.Time} {
		if !tm.Equal(at) || tm.Location() != time.UTC {
			t.Fatalf("stamped %v", tm)
		}
	}
	if c.ID != fid(1) {
		t.Fatal("Stamp replaced the create's id")
	}
	for _, typ := range []MessageType{DFSRegisterServerRequestType, DFSSetServerStateRequestType, DFSDeleteFileRequestType,
		DFSUnlockRequestType, DFSShareRequestType, DFSSetReplicasRequestType} {
		if _, ok := commands[typ].newRequest().(Stamper); ok {
			t.Errorf("%s is stamped", typ)
		}
	}
}

func TestDFSMessageTypes(t *testing.T) {
	names := map[MessageType]string{32: "dfs-register-server", 33: "dfs-set-server-state", 34: "dfs-create-file", 35: "dfs-update-file",
		36: "dfs-delete-file", 37: "dfs-lock", 38: "dfs-unlock", 39: "dfs-share", 40: "dfs-set-replicas"}
	for typ, name := range names {
		if typ.String() != name || Privileged(typ) {
			t.Errorf("%d: %s, privileged %v", typ, typ, Privileged(typ))
		}
		if _, ok := commands[typ]; !ok {
			t.Errorf("%s not dispatched", name)
		}
	}
	for name, err := range map[string]error{"file_not_found": ErrFileNotFound, "file_exists": ErrFileExists, "stale_version": ErrStaleVersion,
		"lock_not_held": ErrLockNotHeld, "not_owner": ErrNotOwner, "server_not_found": ErrServerNotFound, "share_with_owner": ErrShareWithOwner} {
		if ErrorName(err) != name || ErrorByName(name) != err {
			t.Errorf("%s: %q", name, ErrorName(err))
		}
	}
	// Validation errors come out as ErrInvalid with the rule's words.
	err := New(DefaultConfig()).Validate(DFSCreateFileRequestType, &files.CreateRequest{ID: fid(1), Owner: "bob", Name: "a//b"})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("validate: %v", err)
	}
	if _, _, err := DecodeCommand(raw(DFSLockRequestType, `{"file":"x","bogus":1}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("strict decode: %v", err)
	}
}
