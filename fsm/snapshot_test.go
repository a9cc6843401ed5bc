package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/custodes/custodes/fsm/catalog"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// memSink is an in-memory raft.SnapshotSink.
type memSink struct {
	bytes.Buffer
	writeErr, closeErr error
	cancelled, closed  bool
}

var _ raft.SnapshotSink = (*memSink)(nil)

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { s.closed = true; return s.closeErr }
func (s *memSink) Write(p []byte) (int, error) {
	if s.writeErr != nil {
		return 0, s.writeErr
	}
	return s.Buffer.Write(p)
}

// readCloser records whether Restore closed it.
type readCloser struct {
	io.Reader
	closed bool
}

func (r *readCloser) Close() error { r.closed = true; return nil }

func persist(tb testing.TB, f *FSM) []byte {
	tb.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		tb.Fatalf("Snapshot: %v", err)
	}
	defer snap.Release()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		tb.Fatalf("Persist: %v", err)
	}
	if !sink.closed || sink.cancelled {
		tb.Fatalf("Persist: closed %v, cancelled %v", sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}

func restore(f *FSM, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Restore panicked: %v", r)
		}
	}()
	rc := &readCloser{Reader: bytes.NewReader(data)}
	err = f.Restore(rc)
	if !rc.closed {
		return errors.New("Restore did not close its reader")
	}
	return err
}

// populate gives h varied state: changed, critical and removed instances,
// and a service whose last instance is gone.
func populate(h *harness) {
	h.tb.Helper()
	for _, c := range []struct {
		typ MessageType
		req any
	}{
		{RegisterRequestType, &catalog.RegisterRequest{ID: "a", Name: "web", Address: "h:1", Version: "v1", Tags: []string{"x", "y"},
			Meta: map[string]string{"k": "v"}, Check: &catalog.Check{HTTP: "http://h:1/", Interval: time.Second}, Rectify: &catalog.Rectify{URL: "u"}, Now: t0}},
		{RegisterRequestType, &catalog.RegisterRequest{ID: "b", Name: "web", Address: "h:2", Kind: "sidecar", Now: t0}},
		{RegisterRequestType, &catalog.RegisterRequest{ID: "c", Name: "api", Address: "h:1", Now: t0}},
		{UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Version: ptr("v2"), Tags: &[]string{}, Now: t1}},
		{RegisterRequestType, &catalog.RegisterRequest{ID: "d", Name: "gone", Address: "h:1", Now: t0}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "d"}},
		{UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "b", Address: ptr("h:3"), Meta: &map[string]string{}, Now: t1}},
		{SetStatusRequestType, &catalog.SetStatusRequest{ID: "b", Status: catalog.StatusCritical, Output: "down", Now: t1}},
		{RegisterRequestType, &catalog.RegisterRequest{ID: "e", Name: "api", Address: "h:2", Now: t1}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "c"}},
		{DeregisterRequestType, &catalog.DeregisterRequest{ID: "c"}},
	} {
		h.apply(c.typ, c.req)
	}
}

func sameState(t *testing.T, got, want *FSM) {
	t.Helper()
	if got.AppliedIndex() != want.AppliedIndex() {
		t.Errorf("AppliedIndex = %d, want %d", got.AppliedIndex(), want.AppliedIndex())
	}
	if !reflect.DeepEqual(got.Instances(), want.Instances()) {
		t.Errorf("Instances =\n%+v\nwant\n%+v", got.Instances(), want.Instances())
	}
	if !reflect.DeepEqual(got.catalog, want.catalog) {
		t.Errorf("catalog =\n%+v\nwant\n%+v", got.catalog, want.catalog)
	}
	for _, name := range []string{"web", "api", "gone", "never"} {
		gl, gi, _ := got.Service(name, "")
		wl, wi, _ := want.Service(name, "")
		if gi != wi || !reflect.DeepEqual(gl, wl) {
			t.Errorf("Service(%q) = %v at %d, want %v at %d", name, ids(gl), gi, ids(wl), wi)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, target := range []struct {
		name string
		fsm  func(t *testing.T) *FSM
	}{
		{"fresh", func(*testing.T) *FSM { return New(DefaultConfig()) }},
		{"dirty", func(t *testing.T) *FSM {
			o := newHarness(t)
			for i := range 30 {
				o.apply(RegisterRequestType, reg(fmt.Sprint("o", i), fmt.Sprint("svc", i%4), "h:1"))
			}
			_, _, _ = o.fsm.Service("web", "")
			return o.fsm
		}},
	} {
		t.Run(target.name, func(t *testing.T) {
			h := newHarness(t)
			populate(h)
			h.fsm.Apply(&raft.Log{Index: h.index + 1, Type: raft.LogNoop}) // raft's index moves on, applied does not
			data := persist(t, h.fsm)

			f := target.fsm(t)
			if err := restore(f, data); err != nil {
				t.Fatal(err)
			}
			sameState(t, f, h.fsm)
			if again := persist(t, f); !bytes.Equal(again, data) {
				t.Errorf("snapshot of the restored state differs:\n%s\n%s", again, data)
			}
			// Both replicas go on identically from here.
			r := &harness{tb: t, fsm: f, index: h.index}
			for _, c := range []struct {
				typ MessageType
				req any
			}{
				{RegisterRequestType, &catalog.RegisterRequest{ID: "z", Name: "web", Address: "h:3", Kind: "sidecar"}},
				{UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Address: ptr("h:3")}},
				{RegisterRequestType, reg("e", "api", "h:9")},
				{RegisterRequestType, reg("d", "gone", "h:1")},
				{SetStatusRequestType, &catalog.SetStatusRequest{ID: "b", Status: catalog.StatusPassing}},
				{DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}},
			} {
				want, got := h.apply(c.typ, c.req), r.apply(c.typ, c.req)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s after restore = %#v, want %#v", c.typ, got, want)
				}
			}
			sameState(t, f, h.fsm)
		})
	}
}

// A snapshot is the state when Snapshot was called, whatever Apply does
// before Persist runs.
func TestSnapshotIsPointInTime(t *testing.T) {
	h := newHarness(t)
	populate(h)
	want := persist(t, h.fsm)
	snap, err := h.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	h.apply(UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Address: ptr("h:9"), Tags: &[]string{"new"}})
	h.apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "b"})
	h.apply(RegisterRequestType, reg("n", "web", "h:1"))
	h.apply(SetStatusRequestType, &catalog.SetStatusRequest{ID: "e", Status: catalog.StatusCritical})
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sink.Bytes(), want) {
		t.Errorf("snapshot saw later applies:\n%s\nwant\n%s", sink.Bytes(), want)
	}
}

func TestPersistErrors(t *testing.T) {
	h := newHarness(t)
	populate(h)
	diskFull, closeFailed := errors.New("disk full"), errors.New("close failed")

	snap, _ := h.fsm.Snapshot()
	sink := &memSink{writeErr: diskFull}
	if err := snap.Persist(sink); !errors.Is(err, diskFull) {
		t.Errorf("Persist with failing Write = %v, want %v", err, diskFull)
	}
	if !sink.cancelled || sink.closed {
		t.Errorf("failing Write: cancelled %v, closed %v; want Cancel and no Close", sink.cancelled, sink.closed)
	}

	sink = &memSink{closeErr: closeFailed}
	if err := snap.Persist(sink); !errors.Is(err, closeFailed) {
		t.Errorf("Persist with failing Close = %v, want %v", err, closeFailed)
	}
}

func TestRestoreWakesWatchers(t *testing.T) {
	src := newHarness(t)
	populate(src)
	data := persist(t, src.fsm)

	h := newHarness(t)
	h.mustResult(RegisterRequestType, reg("old", "old", "h:1"))
	var chans []<-chan struct{}
	for _, name := range []string{"old", "web", "never"} {
		_, _, ch := h.fsm.Service(name, "")
		chans = append(chans, ch)
	}
	_, _, applied := h.fsm.Events(0)
	if err := restore(h.fsm, data); err != nil {
		t.Fatal(err)
	}
	for i, ch := range chans {
		if !isClosed(ch) {
			t.Errorf("watch %d not closed by Restore", i)
		}
	}
	if !isClosed(applied) {
		t.Error("applied channel not closed by Restore")
	}
	if err := h.fsm.WaitForIndex(t.Context(), src.fsm.AppliedIndex()); err != nil {
		t.Error(err)
	}
	if _, ok := h.fsm.Instance("old"); ok {
		t.Error("instance from before the restore survived")
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	good := newHarness(t)
	populate(good)
	valid := persist(t, good.fsm)
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"garbage", "\x00\xffgarbage"},
		{"not an object", "[1,2,3]"},
		{"truncated", string(valid[:len(valid)/2])},
		{"no version", `{"applied":3,"instances":[]}`},
		{"future version", strings.Replace(string(valid), `"version":2`, `"version":3`, 1)},
		{"negative version", `{"version":-1}`},
		{"instances not a list", `{"version":1,"instances":"nope"}`},
		{"applied not a number", `{"version":1,"applied":"3"}`},
		{"service index not a map", `{"version":1,"service_index":[1]}`},
		{"tables not an object", `{"version":2,"applied":1,"tables":[]}`},
		{"null section", `{"version":2,"applied":1,"tables":{"catalog":null}}`},
		{"section not an object", `{"version":2,"applied":1,"tables":{"catalog":[1]}}`},
		{"section instances not a list", `{"version":2,"applied":1,"tables":{"catalog":{"instances":"nope"}}}`},
		{"section service index not a map", `{"version":2,"applied":1,"tables":{"catalog":{"service_index":[1]}}}`},
		{"unknown table", `{"version":2,"applied":1,"tables":{"catalog":{},"directory":{}}}`},
		{"trailing garbage", string(valid) + "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			populate(h)
			before := persist(t, h.fsm)
			_, _, ch := h.fsm.Service("web", "")
			err := restore(h.fsm, []byte(tc.data))
			if err == nil || strings.Contains(err.Error(), "panicked") {
				t.Fatalf("Restore(%.40q) = %v, want an error", tc.data, err)
			}
			if after := persist(t, h.fsm); !bytes.Equal(after, before) {
				t.Error("a failed Restore changed the state")
			}
			if isClosed(ch) {
				t.Error("a failed Restore woke watchers")
			}
		})
	}
}

func TestRestoreRejectsInconsistentSnapshots(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"null instance", `{"version":1,"applied":1,"instances":[null]}`},
		{"duplicate id", `{"version":1,"applied":2,"instances":[{"id":"a","name":"web","address":"h:1"},` +
			`{"id":"a","name":"web","address":"h:2"}]}`},
		{"v2 null instance", `{"version":2,"applied":1,"tables":{"catalog":{"instances":[null]}}}`},
		{"v2 no name", `{"version":2,"applied":1,"tables":{"catalog":{"instances":[{"id":"a"}]}}}`},
		{"v2 acl null", `{"version":2,"applied":1,"tables":{"acl":null}}`},
		{"v2 acl users without bootstrap", `{"version":2,"applied":1,"tables":{"acl":{"users":[` +
			`{"name":"a","roles":["management"],"token_hash":"` + strings.Repeat("a", 64) + `"}]}}}`},
		{"v2 duplicate address", `{"version":2,"applied":2,"tables":{"catalog":{"instances":[` +
			`{"id":"a","name":"web","address":"h:1"},{"id":"b","name":"web","address":"h:1"}]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := restore(New(DefaultConfig()), []byte(tc.data)); err == nil || strings.Contains(err.Error(), "panicked") {
				t.Fatalf("Restore = %v, want an error and no panic", err)
			}
		})
	}
}

// snapshotV1Bytes is a version 1 snapshot of populate's state, exactly as
// the code before table sections wrote it.
const snapshotV1Bytes = `{"version":1,"applied":11,"instances":[{"id":"a","name":"web","kind":"service","version":"v2","address":"h:1","tags":[],"meta":{"k":"v"},"change_version":2,"registered_at":"2025-03-01T12:00:00Z","updated_at":"2025-03-01T12:01:00Z","create_index":1,"modify_index":4,"check":{"http":"http://h:1/","interval":1000000000},"rectify":{"url":"u"},"status":"passing","status_since":"2025-03-01T12:00:00Z"},{"id":"b","name":"web","kind":"sidecar","version":"","address":"h:3","tags":null,"meta":{},"change_version":2,"registered_at":"2025-03-01T12:00:00Z","updated_at":"2025-03-01T12:01:00Z","create_index":2,"modify_index":8,"status":"critical","status_since":"2025-03-01T12:01:00Z","status_output":"down"},{"id":"e","name":"api","kind":"service","version":"","address":"h:2","tags":null,"meta":null,"change_version":1,"registered_at":"2025-03-01T12:01:00Z","updated_at":"2025-03-01T12:01:00Z","create_index":9,"modify_index":9,"status":"passing","status_since":"2025-03-01T12:01:00Z"}],"service_index":{"api":10,"gone":6,"web":8}}`

// Agents upgraded in place restore the snapshots they wrote before: a v1
// snapshot restores to the same state, and the catalog's section keeps v1's
// bytes (field names and order) under "tables".
func TestRestoreReadsVersion1(t *testing.T) {
	want := newHarness(t)
	populate(want)
	got := New(DefaultConfig())
	if err := restore(got, []byte(snapshotV1Bytes+"\n")); err != nil {
		t.Fatal(err)
	}
	sameState(t, got, want.fsm)
	inner := strings.TrimPrefix(snapshotV1Bytes, `{"version":1,"applied":11,`)
	wantV2 := `{"version":2,"applied":11,"tables":{"catalog":{` + inner + "}}\n"
	if v2 := persist(t, got); string(v2) != wantV2 {
		t.Errorf("persisted after a v1 restore:\n%s\nwant\n%s", v2, wantV2)
	}
	if v2 := persist(t, want.fsm); string(v2) != wantV2 {
		t.Errorf("persisted:\n%s\nwant\n%s", v2, wantV2)
	}
}

// A snapshot without a table's section (taken before the table existed)
// restores that table empty.
func TestRestoreMissingSectionIsEmpty(t *testing.T) {
	h := newHarness(t)
	populate(h)
	if err := restore(h.fsm, []byte(`{"version":2,"applied":20,"tables":{}}`)); err != nil {
		t.Fatal(err)
	}
	if h.fsm.Len() != 0 || len(h.fsm.ServiceNames()) != 0 || h.fsm.AppliedIndex() != 20 {
		t.Errorf("after restoring no sections: %d instances, names %v, applied %d", h.fsm.Len(), h.fsm.ServiceNames(), h.fsm.AppliedIndex())
	}
}
