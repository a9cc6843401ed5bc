package fsm

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/hashicorp/raft"
)

// BenchmarkFilesIndex applies 1,000,000 file creations (10,000 with
// -short) and reports the live heap each file costs, and how long the
// state takes to persist as a snapshot and to restore. Run it alone:
//
//	go test -run '^$' -bench FilesIndex -benchtime 1x ./fsm
func BenchmarkFilesIndex(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	servers := []string{"fs-01", "fs-02", "fs-03", "fs-04", "fs-05"}
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)

		f := New(DefaultConfig())
		var index uint64
		batch := make([]*raft.Log, 0, 1000)
		for i := range servers {
			index++
			f.Apply(entry(b, index, DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: servers[i], Address: fmt.Sprint("10.0.0.", i+1, ":7400")}))
		}
		for i := range n {
			index++
			req := &files.CreateRequest{
				ID: fmt.Sprintf("%08x-%04x-4000-8000-%012x", i, i%65536, i), Owner: fmt.Sprint("user", i%100),
				Name: fmt.Sprintf("projects/p%d/data-%07d.bin", i%50, i), Size: int64(1 + i%1_000_000), SHA256: h64("e"),
				Replicas: []string{servers[i%5], servers[(i+1)%5], servers[(i+2)%5]}, Want: 3, Time: t0.Add(time.Duration(i) * time.Millisecond),
			}
			batch = append(batch, entry(b, index, DFSCreateFileRequestType, req))
			if len(batch) == cap(batch) || i == n-1 {
				for _, r := range f.ApplyBatch(batch) {
					if err, ok := r.(error); ok {
						b.Fatal(err)
					}
				}
				batch = batch[:0]
			}
		}
		// The event ring holds the last few thousand files' events: that
		// is bounded, not per file, so it is left in the count.
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/file")

		// To a file and back, as raft's file snapshot store does: an
		// in-memory sink would measure its own buffer's growth.
		path := filepath.Join(b.TempDir(), "snapshot")
		start := time.Now()
		size := persistFile(b, f, path)
		b.ReportMetric(time.Since(start).Seconds(), "persist-s")
		b.ReportMetric(float64(size)/float64(n), "snapshot-B/file")

		start = time.Now()
		back := New(DefaultConfig())
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := back.Restore(in); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "restore-s")
		if back.DFSSummary().Files != n {
			b.Fatal("restored the wrong number of files")
		}
		runtime.KeepAlive(f)
	}
}

// fileSink is a raft.SnapshotSink writing to a buffered file.
type fileSink struct {
	f *os.File
	w *bufio.Writer
}

func (s *fileSink) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *fileSink) ID() string                  { return "bench" }
func (s *fileSink) Cancel() error               { return s.f.Close() }
func (s *fileSink) Close() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.f.Close()
}

// persistFile writes f's snapshot to path and returns its size.
func persistFile(b *testing.B, f *FSM, path string) int64 {
	b.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Release()
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := snap.Persist(&fileSink{f: out, w: bufio.NewWriterSize(out, 1<<20)}); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// BenchmarkSetServerState measures dfs-set-server-state over 1,000,000
// files (10,000 with -short) on five servers, three replicas each: the
// server's files are found by walking every file (no per-server index),
// reordered and requeued. Reported: a server dying (3/5 of the files
// hold it, a third of those have it as primary) and coming back.
//
//	go test -run '^$' -bench SetServerState -benchtime 1x ./fsm
func BenchmarkSetServerState(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	servers := []string{"fs-01", "fs-02", "fs-03", "fs-04", "fs-05"}
	f := New(DefaultConfig())
	var index uint64
	for i := range servers {
		index++
		f.Apply(entry(b, index, DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: servers[i], Address: fmt.Sprint("10.0.0.", i+1, ":7400")}))
	}
	batch := make([]*raft.Log, 0, 1000)
	for i := range n {
		index++
		req := &files.CreateRequest{
			ID: fmt.Sprintf("%08x-%04x-4000-8000-%012x", i, i%65536, i), Owner: fmt.Sprint("user", i%100),
			Name: fmt.Sprintf("d/%07d", i), Size: 1, SHA256: h64("e"),
			Replicas: []string{servers[i%5], servers[(i+1)%5], servers[(i+2)%5]}, Want: 3, Time: t0,
		}
		batch = append(batch, entry(b, index, DFSCreateFileRequestType, req))
		if len(batch) == cap(batch) || i == n-1 {
			f.ApplyBatch(batch)
			batch = batch[:0]
		}
	}
	runtime.GC() // the garbage of the creations is not the commands' cost
	b.ResetTimer()
	var dead, alive time.Duration
	for range b.N {
		for _, state := range []string{fileservers.StateDead, fileservers.StateAlive} {
			index++
			l := entry(b, index, DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: "fs-01", State: state})
			start := time.Now()
			f.Apply(l)
			if state == fileservers.StateDead {
				dead += time.Since(start)
			} else {
				alive += time.Since(start)
			}
		}
	}
	b.ReportMetric(dead.Seconds()*1000/float64(b.N), "dead-ms")
	b.ReportMetric(alive.Seconds()*1000/float64(b.N), "alive-ms")
	if q := f.DFSSummary().Queue; q != 0 {
		b.Fatalf("queue %d after the server came back", q)
	}
}
