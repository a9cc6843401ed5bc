package replication

import (
	"reflect"
	"testing"
	"time"
)

const (
	fA = "aaaaaaaa-0000-4000-8000-000000000001"
	fB = "bbbbbbbb-0000-4000-8000-000000000002"
	fC = "cccccccc-0000-4000-8000-000000000003"
)

func TestReconcile(t *testing.T) {
	now := time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	grace := time.Hour
	old := now.Add(-2 * time.Hour)
	recent := now.Add(-time.Minute)
	file := func(id string, replicas []string, want, live int) IndexedFile {
		return IndexedFile{ID: id, Version: 3, Size: 10, SHA256: "abc", Replicas: replicas, Want: want, LiveCopies: live}
	}
	good := func(id string) InventoryCopy {
		return InventoryCopy{File: id, Version: 3, Size: 10, SHA256: "abc", Modified: old}
	}
	with := func(c InventoryCopy, f func(*InventoryCopy)) InventoryCopy { f(&c); return c }
	act := func(kind, id string, v uint64) ReconcileAction {
		return ReconcileAction{Kind: kind, File: id, Version: v}
	}
	for _, c := range []struct {
		name  string
		inv   []InventoryCopy
		index map[string]IndexedFile
		want  []ReconcileAction
	}{
		{"nothing", nil, nil, []ReconcileAction{}},
		{"listed current copy is kept",
			[]InventoryCopy{good(fA)},
			map[string]IndexedFile{fA: file(fA, []string{"fs1", "fs2"}, 2, 1)},
			[]ReconcileAction{act(ReconcileKeep, fA, 3)}},
		{"SHA-256 compares case-insensitively",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.SHA256 = "ABC" })},
			map[string]IndexedFile{fA: file(fA, []string{"fs1"}, 2, 1)},
			[]ReconcileAction{act(ReconcileKeep, fA, 3)}},
		{"unlisted current copy of a file short of copies is adopted",
			[]InventoryCopy{good(fA)},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{act(ReconcileAdopt, fA, 3)}},
		{"unlisted current copy of a lost file is adopted",
			[]InventoryCopy{good(fA)},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 0)},
			[]ReconcileAction{act(ReconcileAdopt, fA, 3)}},
		{"unlisted current copy of a file with its copies is deleted",
			[]InventoryCopy{good(fA)},
			map[string]IndexedFile{fA: file(fA, []string{"fs2", "fs3"}, 2, 2)},
			[]ReconcileAction{act(ReconcileDelete, fA, 3)}},
		{"copy of a newer version within the grace is left alone (an update in flight)",
			[]InventoryCopy{good(fA), with(good(fA), func(c *InventoryCopy) { c.Version = 4; c.Modified = recent })},
			map[string]IndexedFile{fA: file(fA, []string{"fs1", "fs2"}, 2, 2)},
			[]ReconcileAction{act(ReconcileKeep, fA, 3)}},
		{"copy of a newer version past the grace is deleted",
			[]InventoryCopy{good(fA), with(good(fA), func(c *InventoryCopy) { c.Version = 4 })},
			map[string]IndexedFile{fA: file(fA, []string{"fs1", "fs2"}, 2, 2)},
			[]ReconcileAction{act(ReconcileKeep, fA, 3), act(ReconcileDelete, fA, 4)}},
		{"copy of an older version is deleted, the listed replica dropped",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Version = 2 })},
			map[string]IndexedFile{fA: file(fA, []string{"fs1", "fs2"}, 2, 2)},
			[]ReconcileAction{act(ReconcileDelete, fA, 2), act(ReconcileDropReplica, fA, 3)}},
		{"copy of a newer version older than the grace is deleted; unlisted: nothing else",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Version = 4 })},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{act(ReconcileDelete, fA, 4)}},
		{"copy of a newer version within the grace (an update in flight) is left alone",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Version = 4; c.Modified = recent })},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{}},
		{"copy of a newer version of unknown age is left alone",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Version = 4; c.Modified = time.Time{} })},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{}},
		{"old and current versions: delete the old, keep the current",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Version = 1 }), good(fA)},
			map[string]IndexedFile{fA: file(fA, []string{"fs1"}, 1, 1)},
			[]ReconcileAction{act(ReconcileDelete, fA, 1), act(ReconcileKeep, fA, 3)}},
		{"orphan older than the grace is deleted",
			[]InventoryCopy{good(fC)},
			map[string]IndexedFile{},
			[]ReconcileAction{act(ReconcileDelete, fC, 3)}},
		{"orphan within the grace is left alone",
			[]InventoryCopy{with(good(fC), func(c *InventoryCopy) { c.Modified = recent })},
			nil,
			[]ReconcileAction{}},
		{"orphan exactly at the grace is left alone",
			[]InventoryCopy{with(good(fC), func(c *InventoryCopy) { c.Modified = now.Add(-grace) })},
			nil,
			[]ReconcileAction{}},
		{"orphan of unknown age is left alone",
			[]InventoryCopy{with(good(fC), func(c *InventoryCopy) { c.Modified = time.Time{} })},
			nil,
			[]ReconcileAction{}},
		{"corrupt listed copy: dropped, then deleted",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Corrupt = true })},
			map[string]IndexedFile{fA: file(fA, []string{"fs2", "fs1"}, 2, 2)},
			[]ReconcileAction{act(ReconcileDropReplica, fA, 3), act(ReconcileDelete, fA, 3)}},
		{"corrupt unlisted copy of a short file is deleted, never adopted",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Corrupt = true })},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{act(ReconcileDelete, fA, 3)}},
		{"size mismatch, listed: dropped and deleted",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.Size = 11 })},
			map[string]IndexedFile{fA: file(fA, []string{"fs1"}, 2, 1)},
			[]ReconcileAction{act(ReconcileDropReplica, fA, 3), act(ReconcileDelete, fA, 3)}},
		{"SHA-256 mismatch, unlisted: deleted",
			[]InventoryCopy{with(good(fA), func(c *InventoryCopy) { c.SHA256 = "def" })},
			map[string]IndexedFile{fA: file(fA, nil, 2, 0)},
			[]ReconcileAction{act(ReconcileDelete, fA, 3)}},
		{"listed without a copy: dropped",
			nil,
			map[string]IndexedFile{fA: file(fA, []string{"fs1", "fs2"}, 2, 2), fB: file(fB, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{act(ReconcileDropReplica, fA, 3)}},
		{"a copy reported twice is decided once",
			[]InventoryCopy{good(fA), good(fA)},
			map[string]IndexedFile{fA: file(fA, []string{"fs2"}, 2, 1)},
			[]ReconcileAction{act(ReconcileAdopt, fA, 3)}},
		{"several files: sorted by file, version, kind",
			[]InventoryCopy{
				good(fC),
				with(good(fB), func(c *InventoryCopy) { c.Corrupt = true }),
				good(fA),
				with(good(fA), func(c *InventoryCopy) { c.Version = 2 }),
			},
			map[string]IndexedFile{
				fA: file(fA, []string{"fs2"}, 3, 1),
				fB: file(fB, []string{"fs1"}, 2, 1),
			},
			[]ReconcileAction{
				act(ReconcileDelete, fA, 2),
				act(ReconcileAdopt, fA, 3),
				act(ReconcileDropReplica, fB, 3),
				act(ReconcileDelete, fB, 3),
				act(ReconcileDelete, fC, 3),
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Reconcile("fs1", c.inv, c.index, now, grace)
			for i := range got {
				if got[i].Reason == "" {
					t.Errorf("action %d has no reason: %+v", i, got[i])
				}
				got[i].Reason = ""
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// The result does not depend on the order of the inventory or of the map.
func TestReconcileDeterministic(t *testing.T) {
	now := time.Now()
	index := map[string]IndexedFile{}
	var inv []InventoryCopy
	for _, id := range []string{fA, fB, fC} {
		index[id] = IndexedFile{ID: id, Version: 2, Size: 1, SHA256: "x", Replicas: []string{"fs1"}, Want: 2, LiveCopies: 1}
		inv = append(inv, InventoryCopy{File: id, Version: 1, Modified: now})
	}
	first := Reconcile("fs1", inv, index, now, time.Hour)
	for i := 0; i < 20; i++ {
		rev := make([]InventoryCopy, len(inv))
		for j := range inv {
			rev[len(inv)-1-j] = inv[j]
		}
		inv = rev
		if got := Reconcile("fs1", inv, index, now, time.Hour); !reflect.DeepEqual(got, first) {
			t.Fatalf("run %d: %+v, first %+v", i, got, first)
		}
	}
	if len(first) != 6 {
		t.Fatalf("want a delete and a drop-replica per file, got %+v", first)
	}
}
