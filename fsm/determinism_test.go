package fsm

import (
	"bytes"
	"fmt"
	"github.com/custodes/custodes/fsm/catalog"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// randomLog is a seeded mix of every command, valid and not (unknown ids,
// missing ids, taken ids, conflicting addresses, invalid statuses), with
// non-command entries in between.
func randomLog(tb testing.TB, seed uint64, n int) []*raft.Log {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	names := []string{"web", "api", "db"}
	addrs := []string{"h:1", "h:2", "h:3", "h:4", "h:5", "h:6"}
	versions := []string{"", "v1", "v2"}
	kinds := []string{"", catalog.DefaultKind, "sidecar"}
	tagSets := [][]string{nil, {}, {"a"}, {"a", "b"}, {"b", "a"}}
	metas := []map[string]string{nil, {}, {"zone": "x"}, {"zone": "y", "rack": "1"}}
	checks := []*catalog.Check{nil, {TTL: time.Second}, {HTTP: "http://h/", Interval: time.Second}}
	statuses := []string{catalog.StatusPassing, catalog.StatusCritical, catalog.StatusCritical, "bogus"}
	// A scratch replica tells the generator which ids are live, so most
	// commands hit an instance and some deliberately miss.
	scratch := New(DefaultConfig())
	id := func() string {
		live := scratch.Instances()
		if len(live) == 0 || rng.IntN(8) == 0 {
			return pick(rng, []string{"missing", "i001", "i002"})
		}
		return pick(rng, live).ID
	}
	var logs []*raft.Log
	for i := 1; i <= n; i++ {
		index, now := uint64(i), t0.Add(time.Duration(i)*time.Second)
		var typ MessageType
		var req any
		switch r := rng.IntN(20); {
		case r == 0:
			logs = append(logs, &raft.Log{Index: index, Type: pick(rng, []raft.LogType{raft.LogNoop, raft.LogBarrier})})
			continue
		case r == 1:
			cfg := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "n1", Address: "a:1"}}}
			logs = append(logs, &raft.Log{Index: index, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(cfg)})
			continue
		case r < 9:
			newID := fmt.Sprintf("i%03d", i)
			switch rng.IntN(10) {
			case 0:
				newID = ""
			case 1:
				newID = id()
			}
			typ, req = RegisterRequestType, &catalog.RegisterRequest{ID: newID, Name: pick(rng, names), Address: pick(rng, addrs),
				Version: pick(rng, versions), Kind: pick(rng, kinds), Tags: pick(rng, tagSets), Meta: pick(rng, metas),
				Check: pick(rng, checks), Now: now}
		case r < 14:
			u := &catalog.UpdateInstanceRequest{ID: id(), Now: now}
			if rng.IntN(2) == 0 {
				u.Version = ptr(pick(rng, versions))
			}
			if rng.IntN(3) == 0 {
				u.Kind = ptr(pick(rng, kinds))
			}
			if rng.IntN(3) == 0 {
				u.Address = ptr(pick(rng, addrs))
			}
			if rng.IntN(3) == 0 {
				u.Tags = ptr(pick(rng, tagSets))
			}
			if rng.IntN(3) == 0 {
				u.Meta = ptr(pick(rng, metas))
			}
			typ, req = UpdateInstanceRequestType, u
		case r < 17:
			typ, req = SetStatusRequestType, &catalog.SetStatusRequest{ID: id(), Status: pick(rng, statuses), Output: fmt.Sprint(i), Now: now}
		default:
			typ, req = DeregisterRequestType, &catalog.DeregisterRequest{ID: id()}
		}
		logs = append(logs, entry(tb, index, typ, req))
		scratch.Apply(logs[len(logs)-1])
	}
	return logs
}

func outcome(resp any) string {
	if r, ok := resp.(*catalog.Result); ok {
		return string(r.Change)
	}
	if err, ok := resp.(error); ok {
		return err.Error()
	}
	return fmt.Sprintf("%T", resp)
}

func TestDeterminism(t *testing.T) {
	const n, seed = 600, 20250301
	logs := randomLog(t, seed, n)
	if again := randomLog(t, seed, n); !reflect.DeepEqual(again, logs) {
		t.Fatal("the generator is not deterministic")
	}

	// One replica applies entry by entry and is snapshotted halfway.
	one := New(DefaultConfig())
	oneResp := make([]any, 0, n)
	var mid []byte
	for i, l := range logs {
		oneResp = append(oneResp, one.Apply(l))
		if i == n/2 {
			mid = persist(t, one)
		}
	}

	// Another applies the same log in batches of random sizes.
	batched := New(DefaultConfig())
	var batchResp []any
	chunks := rand.New(rand.NewPCG(seed, 1))
	for rest := logs; len(rest) > 0; {
		k := min(1+chunks.IntN(32), len(rest))
		batchResp = append(batchResp, batched.ApplyBatch(rest[:k])...)
		rest = rest[k:]
	}

	// A third restores the halfway snapshot and applies the rest.
	restored := New(DefaultConfig())
	if err := restore(restored, mid); err != nil {
		t.Fatal(err)
	}
	var restoredResp []any
	for _, l := range logs[n/2+1:] {
		restoredResp = append(restoredResp, restored.Apply(l))
	}

	counts := map[string]int{}
	for i := range logs {
		counts[outcome(oneResp[i])]++
		if !reflect.DeepEqual(oneResp[i], batchResp[i]) {
			t.Fatalf("entry %d: one by one %#v, batched %#v", logs[i].Index, oneResp[i], batchResp[i])
		}
		if j := i - (n/2 + 1); j >= 0 && !reflect.DeepEqual(oneResp[i], restoredResp[j]) {
			t.Fatalf("entry %d: one by one %#v, after restore %#v", logs[i].Index, oneResp[i], restoredResp[j])
		}
	}
	t.Logf("outcomes: %v", counts)
	for _, want := range []string{string(catalog.Created), string(catalog.Unchanged), string(catalog.Changed), string(catalog.Removed),
		string(catalog.Passing), string(catalog.Critical), ErrNotFound.Error(), ErrConflict.Error(), ErrInvalidStatus.Error(), "<nil>"} {
		if counts[want] < 3 {
			t.Errorf("only %d %q outcomes: the log does not exercise it", counts[want], want)
		}
	}

	final := persist(t, one)
	if got := persist(t, batched); !bytes.Equal(got, final) {
		t.Errorf("batched snapshot differs:\n%s\nwant\n%s", got, final)
	}
	if got := persist(t, restored); !bytes.Equal(got, final) {
		t.Errorf("restored snapshot differs:\n%s\nwant\n%s", got, final)
	}
	if one.Len() < 3 || one.AppliedIndex() == 0 {
		t.Errorf("final state too small to mean much: %d instances", one.Len())
	}
}
