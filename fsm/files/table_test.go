package files

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func id(n int) string     { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", n) }
func sum(c string) string { return strings.Repeat(c, 64) }

func create(n int, owner, name string) *CreateRequest {
	return &CreateRequest{ID: id(n), Owner: owner, Name: name, Size: int64(n * 10), SHA256: sum("a"), Replicas: []string{"s1", "s2"}, Want: 2, Time: t0}
}

func TestCreate(t *testing.T) {
	tb := New()
	res, err := tb.Create(5, create(1, "bob", "a/b.txt"))
	if err != nil {
		t.Fatal(err)
	}
	f := res.File
	if f.Version != 1 || f.CreateIndex != 5 || f.ModifyIndex != 5 || !f.Created.Equal(t0) || !f.Modified.Equal(t0) || f.Want != 2 || res.Old != nil {
		t.Fatalf("result %+v", res)
	}
	cases := []struct {
		name string
		req  *CreateRequest
		want error
	}{
		{"id taken", create(1, "eve", "x"), ErrFileExists},
		{"name taken", create(2, "bob", "a/b.txt"), ErrFileExists},
		{"same name, other owner", create(3, "eve", "a/b.txt"), nil},
	}
	for _, tc := range cases {
		if err := tb.CheckCreate(tc.req); !errors.Is(err, tc.want) {
			t.Errorf("check %s: %v", tc.name, err)
		}
		if _, err := tb.Create(6, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if g, ok := tb.ByName("eve", "a/b.txt"); !ok || g.ID != id(3) {
		t.Fatal("by name")
	}
	if tb.Len() != 2 || len(tb.OwnedBy("bob")) != 1 {
		t.Fatalf("len %d", tb.Len())
	}
	// The result is a copy: changing it changes nothing stored.
	res.File.Replicas[0] = "x"
	if g, _ := tb.Get(id(1)); g.Replicas[0] != "s1" {
		t.Fatal("result shares the stored replicas")
	}
}

func TestUpdate(t *testing.T) {
	tb := New()
	_, _ = tb.Create(1, create(1, "bob", "f"))
	snap := tb.Clone()
	up := &UpdateRequest{ID: id(1), Version: 2, Size: 99, SHA256: sum("b"), Replicas: []string{"s3"}, TokenHash: sum("c"), Fence: 1, Time: t0.Add(time.Hour)}
	res, err := tb.Update(7, up)
	if err != nil {
		t.Fatal(err)
	}
	if res.File.Version != 2 || res.File.Size != 99 || res.File.Replicas[0] != "s3" || res.File.ModifyIndex != 7 || res.File.CreateIndex != 1 ||
		!res.File.Modified.Equal(up.Time) || !res.File.Created.Equal(t0) || res.Old == nil || res.Old.Version != 1 || res.Old.Size != 10 {
		t.Fatalf("result %+v old %+v", res.File, res.Old)
	}
	if g, _ := snap.Get(id(1)); g.Version != 1 {
		t.Fatal("clone changed")
	}
	if _, err := tb.Update(8, up); !errors.Is(err, ErrStaleVersion) {
		t.Fatalf("same version again: %v", err)
	}
	up.Version = 4
	if err := tb.CheckUpdate(up); !errors.Is(err, ErrStaleVersion) {
		t.Fatalf("skipped version: %v", err)
	}
	up.ID = id(9)
	if _, err := tb.Update(8, up); !errors.Is(err, ErrFileNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestDelete(t *testing.T) {
	tb := New()
	_, _ = tb.Create(1, create(1, "bob", "f"))
	if _, err := tb.Delete(2, &DeleteRequest{ID: id(2), By: "bob"}); !errors.Is(err, ErrFileNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := tb.Delete(2, &DeleteRequest{ID: id(1), By: "eve"}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("not owner: %v", err)
	}
	res, err := tb.Delete(2, &DeleteRequest{ID: id(1), By: "bob"})
	if err != nil || res.File.ID != id(1) || res.Index != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, ok := tb.ByName("bob", "f"); ok || tb.Len() != 0 || len(tb.byOwner) != 0 {
		t.Fatal("indexes keep the deleted file")
	}
	// The name is free again.
	if _, err := tb.Create(3, create(2, "bob", "f")); err != nil {
		t.Fatal(err)
	}
}

func TestSetReplicas(t *testing.T) {
	tb := New()
	_, _ = tb.Create(1, create(1, "bob", "f"))
	if _, err := tb.SetReplicas(2, &SetReplicasRequest{ID: id(2), Version: 1, Replicas: []string{"s9"}}); !errors.Is(err, ErrFileNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := tb.SetReplicas(2, &SetReplicasRequest{ID: id(1), Version: 2, Replicas: []string{"s9"}}); !errors.Is(err, ErrStaleVersion) {
		t.Fatalf("stale: %v", err)
	}
	res, err := tb.SetReplicas(3, &SetReplicasRequest{ID: id(1), Version: 1, Replicas: []string{"s9", "s1"}})
	if err != nil || res.File.Version != 1 || len(res.File.Replicas) != 2 || res.File.ModifyIndex != 3 || res.Old.Replicas[1] != "s2" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestSectionRoundTrip(t *testing.T) {
	tb := New()
	_, _ = tb.Create(1, create(2, "bob", "b"))
	_, _ = tb.Create(2, create(1, "eve", "a"))
	_, _ = tb.Update(3, &UpdateRequest{ID: id(1), Version: 2, Size: 1, SHA256: sum("d"), Replicas: []string{"s1"}, TokenHash: sum("c"), Fence: 1, Time: t0})
	data, err := tb.EncodeSection()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSection(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.EncodeSection(); string(again) != string(data) {
		t.Fatalf("round trip:\n%s\n%s", data, again)
	}
	if f, ok := back.ByName("eve", "a"); !ok || f.Version != 2 {
		t.Fatal("index by name not rebuilt")
	}
}

func TestFromSectionRefusesBrokenSections(t *testing.T) {
	file := func(n int, owner, name string) *File {
		return &File{ID: id(n), Owner: owner, Name: name, Version: 1, SHA256: sum("a"), Replicas: []string{"s"}, Want: 1}
	}
	bad := file(1, "bob", "a")
	bad.Version = 0
	cases := map[string]Section{
		"null":       {Files: []*File{nil}},
		"id twice":   {Files: []*File{file(1, "bob", "a"), file(1, "bob", "b")}},
		"name twice": {Files: []*File{file(1, "bob", "a"), file(2, "bob", "a")}},
		"bad name":   {Files: []*File{file(1, "bob", "../a")}},
		"version 0":  {Files: []*File{bad}},
	}
	for name, s := range cases {
		if _, err := FromSection(s); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
}

func TestHoldingReorderAndBytes(t *testing.T) {
	tb := New()
	holding := func(tb *Table, server string) []string {
		out := tb.Holding(server)
		slices.Sort(out)
		return out
	}
	_, _ = tb.Create(1, create(1, "bob", "a"))                                                           // s1 s2, 10 bytes
	_, _ = tb.Create(2, create(2, "bob", "b"))                                                           // s1 s2, 20 bytes
	_, _ = tb.SetReplicas(3, &SetReplicasRequest{ID: id(2), Version: 1, Replicas: []string{"s2", "s3"}}) // s2 s3
	snap := tb.Clone()
	_, _ = tb.Delete(4, &DeleteRequest{ID: id(1), By: "bob"})
	if got := holding(tb, "s1"); len(got) != 0 {
		t.Fatalf("s1 holds %v", got)
	}
	if got := holding(tb, "s2"); !slices.Equal(got, []string{id(2)}) {
		t.Fatalf("s2 holds %v", got)
	}
	if got := holding(snap, "s2"); !slices.Equal(got, []string{id(1), id(2)}) || snap.Bytes() != 30 || tb.Bytes() != 20 {
		t.Fatalf("clone: s2 holds %v, bytes %d / %d", got, snap.Bytes(), tb.Bytes())
	}
	// Reorder: s3 first; a second time changes nothing; the index stands.
	rank := func(s string) int {
		if s == "s3" {
			return 0
		}
		return 1
	}
	if !tb.Reorder(5, id(2), rank) || tb.Reorder(6, id(2), rank) || tb.Reorder(6, id(9), rank) {
		t.Fatal("reorder changed the wrong files")
	}
	if f, _ := tb.Get(id(2)); !slices.Equal(f.Replicas, []string{"s3", "s2"}) || f.ModifyIndex != 5 || f.Version != 1 {
		t.Fatalf("reordered %+v", f)
	}
	if got := holding(tb, "s3"); !slices.Equal(got, []string{id(2)}) {
		t.Fatalf("s3 holds %v", got)
	}
	if f, _ := snap.Get(id(2)); !slices.Equal(f.Replicas, []string{"s2", "s3"}) {
		t.Fatal("a reorder changed the clone's file")
	}
	// A restored table has the same index.
	data, _ := tb.EncodeSection()
	back, err := DecodeSection(data)
	if err != nil || !slices.Equal(holding(back, "s3"), []string{id(2)}) || back.Bytes() != 20 {
		t.Fatalf("restored: %v", err)
	}
}
