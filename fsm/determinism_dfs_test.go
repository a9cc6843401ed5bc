package fsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
	"github.com/hashicorp/raft"
)

// randomDFSLog is a seeded mix of every directory command, succeeding
// and refused (unknown files and servers, taken names, stale versions,
// wrong owners, locks held by others or expired), with ACL users to
// share with. A scratch replica tells the generator what exists.
func randomDFSLog(tb testing.TB, seed uint64, n int) []*raft.Log {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	scratch := New(DefaultConfig())
	users := []string{"bob", "eve", "zed"} // zed never exists
	servers := []string{"s1", "s2", "s3", "s4", "s9"}
	hashes := []string{h64("a"), h64("b")}
	var logs []*raft.Log
	add := func(typ MessageType, req any) {
		logs = append(logs, entry(tb, uint64(len(logs)+1), typ, req))
		scratch.Apply(logs[len(logs)-1])
	}
	add(ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: h64("0")})
	add(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: "bob", Roles: []string{acl.RoleServicesRead}, TokenHash: h64("1")})
	add(ACLCreateUserRequestType, &acl.CreateUserRequest{Name: "eve", Roles: []string{acl.RoleServicesRead}, TokenHash: h64("2")})
	fileID := func() string {
		if rng.IntN(8) == 0 {
			return fid(1000 + rng.IntN(3))
		}
		return fid(1 + rng.IntN(12))
	}
	replicas := func() []string {
		k := 1 + rng.IntN(3)
		perm := rng.Perm(len(servers) - 1)
		out := make([]string, 0, k)
		for _, i := range perm[:k] {
			out = append(out, servers[i])
		}
		if rng.IntN(12) == 0 {
			out[0] = "s9"
		}
		return out
	}
	for len(logs) < n {
		now := t0.Add(time.Duration(len(logs)) * 250 * time.Millisecond)
		id := fileID()
		cur, exists := scratch.File(id)
		switch r := rng.IntN(20); {
		case r == 0:
			add(DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: pick(rng, servers[:4]), Address: fmt.Sprint("h:", 1+rng.IntN(3))})
		case r < 3:
			add(DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: pick(rng, servers), State: pick(rng, fileservers.KnownStates)})
		case r < 7:
			add(DFSCreateFileRequestType, &files.CreateRequest{ID: id, Owner: pick(rng, users[:2]), Name: fmt.Sprint("d/f", rng.IntN(12)),
				Size: int64(rng.IntN(1000)), SHA256: h64("c"), Replicas: replicas(), Want: 1 + rng.IntN(3), Time: now})
		case r < 9:
			version := cur.Version + 1
			if !exists || rng.IntN(6) == 0 {
				version = 2 + uint64(rng.IntN(2))
			}
			fence := scratch.locks.Fence(id)
			if rng.IntN(6) == 0 {
				fence++
			}
			if fence == 0 {
				fence = 1
			}
			hash := pick(rng, hashes)
			if l, ok := scratch.Lock(id); ok && rng.IntN(5) > 0 {
				hash = l.TokenHash
			}
			add(DFSUpdateFileRequestType, &files.UpdateRequest{ID: id, Version: version, Size: int64(rng.IntN(1000)), SHA256: h64("d"),
				Replicas: replicas(), TokenHash: hash, Fence: fence, Time: now})
		case r < 12:
			add(DFSLockRequestType, &locks.LockRequest{File: id, Holder: "bob", TokenHash: pick(rng, hashes), TTL: int64(1000 * (1 + rng.IntN(8))), Time: now})
		case r < 14:
			add(DFSUnlockRequestType, &locks.UnlockRequest{File: id, TokenHash: pick(rng, hashes)})
		case r < 16:
			add(DFSShareRequestType, &shares.ShareRequest{File: id, User: pick(rng, users), Mode: pick(rng, shares.KnownModes), By: pick(rng, users[:2])})
		case r < 18:
			version := cur.Version
			if rng.IntN(5) == 0 {
				version++
			}
			add(DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: id, Version: max(version, 1), Replicas: replicas()})
		default:
			add(DFSDeleteFileRequestType, &files.DeleteRequest{ID: id, By: pick(rng, users[:2])})
		}
	}
	return logs
}

func dfsOutcome(typ MessageType, resp any) string {
	switch r := resp.(type) {
	case error:
		return r.Error()
	case *locks.Result:
		if typ == DFSUnlockRequestType {
			return typ.String()
		}
		return fmt.Sprintf("%s granted=%v", typ, r.Granted)
	}
	return typ.String()
}

func TestDFSDeterminism(t *testing.T) {
	const n, seed = 1500, 20250901
	logs := randomDFSLog(t, seed, n)
	if again := randomDFSLog(t, seed, n); !reflect.DeepEqual(again, logs) {
		t.Fatal("the generator is not deterministic")
	}
	one := New(DefaultConfig())
	var oneResp []any
	var mid []byte
	for i, l := range logs {
		oneResp = append(oneResp, one.Apply(l))
		if i == n/2 {
			mid = persist(t, one)
		}
	}
	batched := New(DefaultConfig())
	var batchResp []any
	chunks := rand.New(rand.NewPCG(seed, 1))
	for rest := logs; len(rest) > 0; {
		k := min(1+chunks.IntN(32), len(rest))
		batchResp = append(batchResp, batched.ApplyBatch(rest[:k])...)
		rest = rest[k:]
	}
	restored := New(DefaultConfig())
	if err := restore(restored, mid); err != nil {
		t.Fatal(err)
	}
	var restoredResp []any
	for _, l := range logs[n/2+1:] {
		restoredResp = append(restoredResp, restored.Apply(l))
	}

	outcomes := map[string]int{}
	for i, l := range logs {
		outcomes[dfsOutcome(MessageType(l.Data[0]), oneResp[i])]++
		if !reflect.DeepEqual(oneResp[i], batchResp[i]) {
			t.Fatalf("entry %d: one by one %#v, batched %#v", l.Index, oneResp[i], batchResp[i])
		}
		if j := i - (n/2 + 1); j >= 0 && !reflect.DeepEqual(oneResp[i], restoredResp[j]) {
			t.Fatalf("entry %d: one by one %#v, after restore %#v", l.Index, oneResp[i], restoredResp[j])
		}
	}
	t.Logf("outcomes: %v", outcomes)
	for _, want := range []string{"dfs-create-file", "dfs-update-file", "dfs-delete-file", "dfs-lock granted=true", "dfs-lock granted=false",
		"dfs-unlock", "dfs-share", "dfs-set-replicas", "dfs-register-server", "dfs-set-server-state",
		ErrFileNotFound.Error(), ErrFileExists.Error(), ErrStaleVersion.Error(), ErrLockNotHeld.Error(), ErrNotOwner.Error(),
		ErrServerNotFound.Error(), ErrUserNotFound.Error(), ErrShareWithOwner.Error()} {
		if outcomes[want] < 3 {
			t.Errorf("only %d %q outcomes: the log does not exercise it", outcomes[want], want)
		}
	}
	final := persist(t, one)
	if got := persist(t, batched); !bytes.Equal(got, final) {
		t.Errorf("batched snapshot differs:\n%s\nwant\n%s", got, final)
	}
	if got := persist(t, restored); !bytes.Equal(got, final) {
		t.Errorf("restored snapshot differs:\n%s\nwant\n%s", got, final)
	}
	// The counts the glue keeps equal the counts the files imply.
	want := map[string][2]int64{}
	for _, s := range one.Servers() {
		want[s.ID] = [2]int64{}
	}
	one.files.Each(func(f *files.File) bool {
		for _, id := range f.Replicas {
			c := want[id]
			want[id] = [2]int64{c[0] + 1, c[1] + f.Size}
		}
		return true
	})
	if got := counts(one); !reflect.DeepEqual(got, want) {
		t.Errorf("server counts %v, files imply %v", got, want)
	}
	// The replication queue: the same on every replica, equal to the one
	// the tables imply, and it moved (files came and left).
	queue := one.ReplicationQueue()
	if !reflect.DeepEqual(batched.ReplicationQueue(), queue) || !reflect.DeepEqual(restored.ReplicationQueue(), queue) {
		t.Error("replication queues differ")
	}
	for name, r := range map[string]*FSM{"one": one, "batched": batched, "restored": restored} {
		if want := buildQueue(r.servers, r.files); !reflect.DeepEqual(r.queue, want) {
			t.Errorf("%s: kept queue %v, tables imply %v", name, r.queue, want)
		}
	}
	replicated := 0
	evs, _, _ := one.Events(0)
	for _, ev := range evs {
		if ev.Field == FileReplicated {
			replicated++
		}
	}
	t.Logf("queue %d of %d files, %d replicated events retained", len(queue), one.files.Len(), replicated)
	if replicated == 0 {
		t.Error("no set-replicas brought a file back to its copies")
	}
	if one.files.Len() < 3 {
		t.Errorf("final state too small to mean much: %d files", one.files.Len())
	}
}
