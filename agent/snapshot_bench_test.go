package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

// BenchmarkSnapshotSaveRestore loads an index of files into a 3-agent
// cluster (1,000,000 by default, CUSTODES_BENCH_FILES to change, 10,000
// with -short), then times what `custodes snapshot save` and `restore`
// do over HTTP: GET /admin/snapshot through a follower (a linearizable
// read, the archive streamed), and PUT /admin/snapshot of that archive
// through the leader, answered once the leader restored it and a
// follower installed it (and on every agent). Run it alone:
//
//	go test -run '^$' -bench SnapshotSaveRestore -benchtime 1x -timeout 30m ./agent
func BenchmarkSnapshotSaveRestore(b *testing.B) {
	n := benchFiles()
	for range b.N {
		c, err := agenttest.Start(3, agenttest.Options{Configure: func(i int, cfg *agent.Config) {
			// As BenchmarkCatchUpBySnapshot: a leader busy with a
			// million files must not lose leadership over it.
			cfg.Cluster.HeartbeatTimeout, cfg.Cluster.ElectionTimeout = time.Second, time.Second
			cfg.Cluster.LeaderLeaseTimeout = 500 * time.Millisecond
			cfg.Cluster.SnapshotThreshold = 1 << 20
		}})
		if err != nil {
			b.Fatal(err)
		}
		l, err := c.WaitForLeader(10 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		loadFiles(b, c.Agents[l].Node(), n)
		follower := (l + 1) % 3

		start := time.Now()
		resp, err := http.Get(c.URL(follower) + "/admin/snapshot")
		if err != nil {
			b.Fatal(err)
		}
		archive, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("save: %d %v", resp.StatusCode, err)
		}
		save := time.Since(start)

		// Leadership may have moved while a million files loaded; without
		// a cluster key only the leader takes a restore.
		if l, err = c.WaitForLeader(10 * time.Second); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, c.URL(l)+"/admin/snapshot", bytes.NewReader(archive))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("restore: %d %s", resp.StatusCode, body)
		}
		restore := time.Since(start)
		if err := waitUntil(5*time.Minute, func() bool {
			for _, a := range c.Agents {
				if a.Node().FSM().DFSSummary().Files != n {
					return false
				}
			}
			return true
		}); err != nil {
			b.Fatal("the agents do not all hold the restored files: ", err)
		}
		everywhere := time.Since(start)
		b.ReportMetric(save.Seconds(), "save-s")
		b.ReportMetric(float64(len(archive))/float64(n), "archive-B/file")
		b.ReportMetric(restore.Seconds(), "restore-s")
		b.ReportMetric(everywhere.Seconds(), "restored-everywhere-s")
		fmt.Fprintf(os.Stderr, "snapshot of %d files: %d bytes, saved in %s, restore answered in %s, on every agent in %s\n",
			n, len(archive), save.Round(time.Millisecond), restore.Round(time.Millisecond), everywhere.Round(time.Millisecond))
		c.Shutdown()
	}
}
