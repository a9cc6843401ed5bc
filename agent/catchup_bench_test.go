package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/google/uuid"
)

// benchFiles is how many files the benchmarks that load an index use:
// 1,000,000, CUSTODES_BENCH_FILES to change, 10,000 with -short.
func benchFiles() int {
	if testing.Short() {
		return 10_000
	}
	if v, err := strconv.Atoi(os.Getenv("CUSTODES_BENCH_FILES")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

// BenchmarkCatchUpBySnapshot loads an index of files into a 3-agent
// cluster (1,000,000 by default, CUSTODES_BENCH_FILES to change, 10,000
// with -short), lets the leader snapshot it, then adds a fresh agent and
// reports how long it takes to hold the same state: the leader sends the
// snapshot and the newcomer restores it. Run it alone:
//
//	go test -run '^$' -bench CatchUpBySnapshot -benchtime 1x -timeout 30m ./agent
func BenchmarkCatchUpBySnapshot(b *testing.B) {
	n := benchFiles()
	for range b.N {
		c, err := agenttest.Start(3, agenttest.Options{Configure: func(i int, cfg *agent.Config) {
			cfg.Cluster.SnapshotThreshold = 1024
			cfg.Cluster.TrailingLogs = 1024
			cfg.Cluster.SnapshotInterval = time.Second
			// The harness's 100 ms Raft timings are for tests that move
			// leadership; a leader busy snapshotting a million files
			// must not lose it.
			cfg.Cluster.HeartbeatTimeout, cfg.Cluster.ElectionTimeout = time.Second, time.Second
			cfg.Cluster.LeaderLeaseTimeout = 500 * time.Millisecond
		}})
		if err != nil {
			b.Fatal(err)
		}
		l, err := c.WaitForLeader(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		node := c.Agents[l].Node()
		start := time.Now()
		loadFiles(b, node, n)
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "loaded-files/s")
		target := node.FSM().AppliedIndex()
		// Wait for the leader to snapshot past the load, so the newcomer
		// gets a snapshot rather than the log.
		if err := waitUntil(time.Minute, func() bool { return node.Status().LastSnapshotIndex+1024 >= target }); err != nil {
			b.Fatal("no snapshot of the loaded state: ", err)
		}
		start = time.Now()
		j, err := c.Add()
		if err != nil {
			b.Fatal(err)
		}
		if err := waitUntil(10*time.Minute, func() bool { return c.Agents[j].Node().FSM().AppliedIndex() >= target }); err != nil {
			b.Fatal("the new agent did not catch up: ", err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "catch-up-s")
		if got := c.Agents[j].Node().FSM().DFSSummary().Files; got != n {
			b.Fatalf("the new agent holds %d files, want %d", got, n)
		}
		c.Shutdown()
	}
}

// loadFiles registers three file servers and proposes n files on them
// through node, 64 at a time.
func loadFiles(b *testing.B, node interface {
	Propose(ctx context.Context, t fsm.MessageType, req any) (cluster.Applied, error)
}, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		req := &fileservers.RegisterRequest{ID: fmt.Sprintf("fs%d", i), Address: fmt.Sprintf("127.0.0.1:%d", 9000+i)}
		if _, err := node.Propose(ctx, fsm.DFSRegisterServerRequestType, req); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				a, b2 := fmt.Sprintf("fs%d", i%3+1), fmt.Sprintf("fs%d", (i+1)%3+1)
				req := &files.CreateRequest{ID: uuid.NewString(), Owner: fmt.Sprintf("user%d", i%100), Name: fmt.Sprintf("dir%d/file%d.bin", i%1000, i),
					Size: 4096, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Replicas: []string{a, b2}, Want: 2}
				var err error
				for try := 0; try < 5; try++ {
					// An unknown outcome may have applied: then the id exists.
					if _, err = node.Propose(ctx, fsm.DFSCreateFileRequestType, req); err == nil || errors.Is(err, fsm.ErrFileExists) {
						err = nil
						break
					}
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
