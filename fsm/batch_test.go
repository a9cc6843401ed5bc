package fsm

import (
	"bytes"
	"github.com/custodes/custodes/fsm/catalog"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
)

func mustEncode(tb testing.TB, typ MessageType, req any) []byte {
	tb.Helper()
	b, err := Encode(typ, req)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// A batch entry applies its commands in order at its own index, and
// answers each one.
func TestBatchEntryAppliesEveryCommandAtItsIndex(t *testing.T) {
	f := New(DefaultConfig())
	f.Apply(entry(t, 1, RegisterRequestType, reg("old", "web", "h:9")))
	batch := EncodeBatch([][]byte{
		mustEncode(t, RegisterRequestType, reg("a", "web", "h:1")),
		mustEncode(t, RegisterRequestType, reg("b", "web", "h:2")),
		mustEncode(t, DeregisterRequestType, &catalog.DeregisterRequest{ID: "missing"}),
		mustEncode(t, UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Version: ptr("2"), Now: t0}),
		mustEncode(t, RegisterRequestType, reg("c", "web", "h:2")), // b again: the same instance, unchanged
	})
	resp := f.Apply(&raft.Log{Index: 7, Term: 1, Type: raft.LogCommand, Data: batch})
	got, ok := resp.(BatchResponse)
	if !ok || len(got) != 5 {
		t.Fatalf("response %#v, want a BatchResponse of 5", resp)
	}
	want := []string{string(catalog.Created), string(catalog.Created), ErrNotFound.Error(), string(catalog.Changed), string(catalog.Unchanged)}
	for i, w := range want {
		if outcome(got[i]) != w {
			t.Errorf("command %d: %s, want %s", i, outcome(got[i]), w)
		}
	}
	if r := got[0].(*catalog.Result); r.ID != "a" || r.Index != 7 {
		t.Errorf("first result %+v, want id a at index 7", r)
	}
	a, _ := f.Instance("a")
	if a.CreateIndex != 7 || a.ModifyIndex != 7 || a.Version != "2" {
		t.Errorf("instance a %+v: want created and modified at 7, version 2", a)
	}
	if f.AppliedIndex() != 7 {
		t.Errorf("applied index %d, want 7", f.AppliedIndex())
	}
	evs, _, _ := f.Events(1)
	if keys := eventKeys(evs); !reflect.DeepEqual(keys, []string{"registered:a", "registered:b", "changed:a"}) {
		t.Errorf("events %v", keys)
	}
	if idx := eventIndexes(evs); !reflect.DeepEqual(idx, []uint64{7, 7, 7}) {
		t.Errorf("event indexes %v, want all 7", idx)
	}
}

func TestValidateEncodedChecksBatches(t *testing.T) {
	good := mustEncode(t, RegisterRequestType, reg("a", "web", "h:1"))
	batch := EncodeBatch([][]byte{good, good})
	if err := ValidateEncoded(batch); err != nil {
		t.Fatalf("a good batch: %v", err)
	}
	bad := map[string][]byte{
		"empty batch":       EncodeBatch(nil),
		"cut short":         batch[:len(batch)-1],
		"trailing bytes":    append(append([]byte{}, batch...), 'x'),
		"nested":            EncodeBatch([][]byte{batch}),
		"a bad command":     EncodeBatch([][]byte{good, []byte{byte(RegisterRequestType), '{'}}),
		"an unknown type":   EncodeBatch([][]byte{{200, '{', '}'}}),
		"an empty command":  EncodeBatch([][]byte{{}}),
		"count beyond body": {byte(BatchRequestType), 9, 1, 'x'},
	}
	for name, b := range bad {
		if err := ValidateEncoded(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := SplitBatch(good); err == nil {
		t.Error("SplitBatch accepted a plain command")
	}
}

// Apply panics on a nested batch (a corrupt log), as on any entry it cannot
// decode.
func TestApplyPanicsOnNestedBatch(t *testing.T) {
	inner := EncodeBatch([][]byte{mustEncode(t, RegisterRequestType, reg("a", "web", "h:1"))})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	New(DefaultConfig()).Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: EncodeBatch([][]byte{inner})})
}

// pack rewrites a log so that runs of consecutive commands become batch
// entries (at the index of the run's first command), as the leader's
// grouper does; other entries stay.
func pack(logs []*raft.Log, rng *rand.Rand) []*raft.Log {
	var out []*raft.Log
	for i := 0; i < len(logs); {
		l := logs[i]
		if l.Type != raft.LogCommand {
			out = append(out, l)
			i++
			continue
		}
		var cmds [][]byte
		for i < len(logs) && logs[i].Type == raft.LogCommand && (len(cmds) == 0 || rng.IntN(6) != 0) {
			cmds = append(cmds, logs[i].Data)
			i++
		}
		out = append(out, &raft.Log{Index: l.Index, Term: l.Term, Type: raft.LogCommand, Data: EncodeBatch(cmds)})
	}
	return out
}

func TestBatchEntriesAreDeterministic(t *testing.T) {
	const n, seed = 600, 20261124
	logs := randomLog(t, seed, n)

	// A batch of one command answers as the command alone.
	plain, single := New(DefaultConfig()), New(DefaultConfig())
	for _, l := range logs {
		want := plain.Apply(l)
		if l.Type != raft.LogCommand {
			single.Apply(l)
			continue
		}
		got := single.Apply(&raft.Log{Index: l.Index, Type: raft.LogCommand, Data: EncodeBatch([][]byte{l.Data})})
		if b, ok := got.(BatchResponse); !ok || len(b) != 1 || !reflect.DeepEqual(b[0], want) {
			t.Fatalf("entry %d: batch of one %#v, alone %#v", l.Index, got, want)
		}
	}
	if !bytes.Equal(persist(t, plain), persist(t, single)) {
		t.Fatal("batches of one left another state")
	}

	// Packed logs: entry by entry, in ApplyBatch chunks and from a halfway
	// snapshot, every replica ends in the same state with the same answers.
	packed := pack(logs, rand.New(rand.NewPCG(seed, 2)))
	one, chunked, restored := New(DefaultConfig()), New(DefaultConfig()), New(DefaultConfig())
	var oneResp, chunkResp []any
	var mid []byte
	for i, l := range packed {
		oneResp = append(oneResp, one.Apply(l))
		if i == len(packed)/2 {
			mid = persist(t, one)
		}
	}
	for rest := packed; len(rest) > 0; {
		k := min(1+len(rest)%7, len(rest))
		chunkResp = append(chunkResp, chunked.ApplyBatch(rest[:k])...)
		rest = rest[k:]
	}
	if err := restore(restored, mid); err != nil {
		t.Fatal(err)
	}
	for i, l := range packed[len(packed)/2+1:] {
		if got := restored.Apply(l); !reflect.DeepEqual(got, oneResp[len(packed)/2+1+i]) {
			t.Fatalf("entry %d after restore: %#v, want %#v", l.Index, got, oneResp[len(packed)/2+1+i])
		}
	}
	if !reflect.DeepEqual(oneResp, chunkResp) {
		t.Fatal("chunked application answered differently")
	}
	final := persist(t, one)
	if !bytes.Equal(persist(t, chunked), final) || !bytes.Equal(persist(t, restored), final) {
		t.Fatal("replicas of the packed log diverged")
	}
	var batches, errs int
	for _, r := range oneResp {
		if b, ok := r.(BatchResponse); ok && len(b) > 1 {
			batches++
			for _, x := range b {
				if _, ok := x.(error); ok {
					errs++
				}
			}
		}
	}
	if batches < 20 || errs < 5 {
		t.Errorf("only %d multi-command batches with %d business errors: the packing does not exercise them", batches, errs)
	}
}
