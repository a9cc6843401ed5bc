package fsm

import (
	"bytes"
	"errors"
	"testing"
)

// An export writes what Persist writes, and Rewrite hands back the same
// state claiming another index: restored, it is the original state at
// that index.
func TestExportAndRewrite(t *testing.T) {
	h := newHarness(t)
	populate(h)
	exp := h.fsm.Export()
	if exp.Index() != h.fsm.AppliedIndex() {
		t.Fatalf("Index = %d, want %d", exp.Index(), h.fsm.AppliedIndex())
	}
	var out bytes.Buffer
	if err := exp.Write(&out); err != nil {
		t.Fatal(err)
	}
	if want := persist(t, h.fsm); !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("export differs from Persist:\n%s\n%s", out.Bytes(), want)
	}

	if was, err := CheckSnapshot(bytes.NewReader(out.Bytes())); err != nil || was != h.fsm.AppliedIndex() {
		t.Fatalf("CheckSnapshot = %d, %v; want %d", was, err, h.fsm.AppliedIndex())
	}
	const at = 5000
	var re bytes.Buffer
	was, err := Rewrite(bytes.NewReader(out.Bytes()), &re, at)
	if err != nil || was != h.fsm.AppliedIndex() {
		t.Fatalf("Rewrite = %d, %v; want %d", was, err, h.fsm.AppliedIndex())
	}
	got := New(DefaultConfig())
	if err := restore(got, re.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got.AppliedIndex() != at {
		t.Fatalf("restored at %d, want %d", got.AppliedIndex(), at)
	}
	want := New(DefaultConfig())
	if err := restore(want, out.Bytes()); err != nil {
		t.Fatal(err)
	}
	want.applied = at
	sameState(t, got, want)
}

// CheckSnapshot and Rewrite refuse what Restore refuses.
func TestRewriteRefusesWhatRestoreRefuses(t *testing.T) {
	h := newHarness(t)
	populate(h)
	good := persist(t, h.fsm)
	for name, in := range map[string][]byte{
		"empty":       nil,
		"not json":    []byte("hello"),
		"truncated":   good[:len(good)/2],
		"trailing":    append(bytes.Clone(good), []byte(`{}`)...),
		"bad version": []byte(`{"version":9,"applied":1}`),
		"bad section": []byte(`{"version":2,"applied":1,"tables":{"nope":{}}}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Rewrite(bytes.NewReader(in), &bytes.Buffer{}, 10)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Rewrite = %v, want ErrInvalid", err)
			}
			if _, err := CheckSnapshot(bytes.NewReader(in)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckSnapshot = %v, want ErrInvalid", err)
			}
			if restore(New(DefaultConfig()), in) == nil {
				t.Fatal("Restore took what Rewrite refused")
			}
		})
	}
}
