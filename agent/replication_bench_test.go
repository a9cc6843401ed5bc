package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/replication"
)

// BenchmarkReplicationHeal is issue 10's benchmark: the time from a file
// server's kill -9 until every file is back at R copies on alive servers.
// 3 agents, 4 file servers, R = 2; 1,000 files of 64 KiB written through
// the API (CUSTODES_BENCH_FILES to change, 50 with -short); then the file
// server holding the most copies is killed and the benchmark waits until
// the leader's replication queue is empty and every file has R replicas
// on alive servers. Each variant runs CUSTODES_BENCH_TRIALS (3) trials,
// each on a fresh cluster, and reports their median; every trial is
// logged (run with -v to see them).
//
//   - prompt: the sweep as shipped: gossip reports the server, the
//     sweep's watch (every Config.Prompt, 200 ms) probes it, commits it
//     dead and sweeps; then every Interval (30 s).
//   - interval: Config.Prompt set to 24 h, so that the watch never fires
//     within a trial: detection and copies happen only at the periodic
//     sweep (Interval, 30 s by default).
//
// In both the kill is made just after a periodic sweep was seen to run,
// so the next tick is a whole Interval away (the worst phase; a kill at
// a random moment waits half an Interval on average for its first tick).
// CUSTODES_BENCH_INTERVAL overrides --replication-interval.
//
// Metrics, each the median of the trials:
//   - heal-s: kill until every file is back at R live copies;
//   - dead-s: kill until the leader's index holds the server dead;
//   - copy-s: first file back at R until the last;
//   - heal-MB/s: bytes re-copied (the dead server's copies: files ×
//     64 KiB, 2^20 bytes per MB) over heal-s;
//   - copy-MB/s: the same bytes over copy-s;
//   - sweeps: sweeps that made copies (as /admin/dfs's last_sweep shows
//     them, polled every 20 ms; a sweep shorter than that may be missed).
//
// As shipped, a sweep makes at most --replication-concurrency copies per
// server (about 4 in all with 3 alive servers) and the next waits for the
// next tick, so a heal takes about (files / 4) ticks: 1,000 files at the
// default 30 s are about an hour per trial (docs/BENCHMARKS.md).
//
// Run it alone:
//
//	go test -run '^$' -bench ReplicationHeal -benchtime 1x -timeout 6h -v ./agent
func BenchmarkReplicationHeal(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CUSTODES_BENCH_FILES")); err == nil && v > 0 {
		n = v
	}
	if testing.Short() {
		n = 50
	}
	trials := 3
	if v, err := strconv.Atoi(os.Getenv("CUSTODES_BENCH_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	interval := replication.DefaultConfig().Interval
	if v, err := time.ParseDuration(os.Getenv("CUSTODES_BENCH_INTERVAL")); err == nil && v > 0 {
		interval = v
	}
	for _, variant := range []string{"prompt", "interval"} {
		b.Run(variant, func(b *testing.B) {
			for range b.N {
				var runs []healRun
				for t := range trials {
					r := healOnce(b, n, interval, variant == "prompt")
					b.Logf("%s trial %d/%d: %s", variant, t+1, trials, r)
					runs = append(runs, r)
				}
				med := func(f func(healRun) float64) float64 {
					v := make([]float64, len(runs))
					for i, r := range runs {
						v[i] = f(r)
					}
					slices.Sort(v)
					return v[len(v)/2]
				}
				b.ReportMetric(med(func(r healRun) float64 { return r.heal.Seconds() }), "heal-s")
				b.ReportMetric(med(func(r healRun) float64 { return r.dead.Seconds() }), "dead-s")
				b.ReportMetric(med(func(r healRun) float64 { return r.copy.Seconds() }), "copy-s")
				b.ReportMetric(med(func(r healRun) float64 { return mb(r.bytes) / r.heal.Seconds() }), "heal-MB/s")
				b.ReportMetric(med(func(r healRun) float64 { return mb(r.bytes) / r.copy.Seconds() }), "copy-MB/s")
				b.ReportMetric(med(func(r healRun) float64 { return float64(r.sweeps) }), "sweeps")
			}
		})
	}
}

const benchFileSize = 64 << 10

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// healRun is one trial's outcome.
type healRun struct {
	files      int   // files re-copied (those the dead server held)
	bytes      int64 // their bytes
	dead, heal time.Duration
	copy       time.Duration // first file back at R until the last
	sweeps     int           // sweeps seen making copies
	loadavg    string
}

func (r healRun) String() string {
	return fmt.Sprintf("%d files (%.2f MB) re-copied; dead after %.2fs, healed after %.2fs (first to last copy %.2fs, %d sweeps copied); %.2f MB/s over the heal, %.2f MB/s first to last copy; loadavg %s",
		r.files, mb(r.bytes), r.dead.Seconds(), r.heal.Seconds(), r.copy.Seconds(), r.sweeps, mb(r.bytes)/r.heal.Seconds(), mb(r.bytes)/r.copy.Seconds(), r.loadavg)
}

// healOnce runs one trial on a fresh cluster.
func healOnce(b *testing.B, n int, interval time.Duration, prompt bool) healRun {
	b.Helper()
	c, tokens, err := agenttest.StartFileSystem(3, []string{"bench"}, agenttest.Options{
		Keys: agenttest.NewKeys(), FileServers: 4,
		Configure: func(i int, cfg *agent.Config) {
			// As directory/dfstest: the harness's 100 ms Raft timings
			// lose the leader now and then while files stream through
			// the same process; a new leader would sweep at once.
			cfg.Cluster.HeartbeatTimeout, cfg.Cluster.ElectionTimeout = 500*time.Millisecond, 500*time.Millisecond
			cfg.Cluster.LeaderLeaseTimeout = 500 * time.Millisecond
			cfg.Directory.Replicas = 2
			cfg.Replication.Interval = interval
			if !prompt {
				// The watch is the prompt path: a tick of a day
				// never comes within a trial.
				cfg.Replication.Prompt = 24 * time.Hour
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Shutdown()
	l, err := c.WaitForLeader(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	leader := c.Agents[l].Node()
	writeFiles(b, c.URL(l), tokens["bench"], n)
	var ids []string
	for _, fa := range leader.FSM().FilesOf("bench") {
		ids = append(ids, fa.File.ID)
	}
	if len(ids) != n {
		b.Fatalf("the index holds %d files, want %d", len(ids), n)
	}

	// The victim: the server holding the most copies.
	var victim fileservers.Server
	for _, s := range leader.FSM().Servers() {
		if s.Files > victim.Files {
			victim = s
		}
	}
	held := len(leader.FSM().FilesOn(victim.ID))

	// Kill just after a periodic sweep, so the next tick is a whole
	// Interval away.
	st := sweepStatus(b, c.URL(l), tokens["root"])
	before := time.Time{}
	if st.LastSweep != nil {
		before = st.LastSweep.At
	}
	if err := waitUntil(interval+30*time.Second, func() bool {
		st = sweepStatus(b, c.URL(l), tokens["root"])
		return st.LastSweep != nil && st.LastSweep.At.After(before)
	}); err != nil {
		b.Fatal("no periodic sweep: ", err)
	}
	if c.Leader() != l {
		b.Fatal("the leader changed before the kill")
	}

	r := healRun{files: held, bytes: int64(held) * benchFileSize, loadavg: loadavg()}
	if err := c.KillFileServerByID(victim.ID); err != nil {
		b.Fatal(err)
	}
	start := time.Now()

	// Poll the leader's index until the queue is empty and every file
	// has R live copies; follow the sweeps on the side.
	var mu sync.Mutex
	sweeps := map[time.Time]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if st, ok := trySweepStatus(c.URL(l), tokens["root"]); ok && st.LastSweep != nil && st.LastSweep.Copied > 0 && st.LastSweep.At.After(start) {
				mu.Lock()
				sweeps[st.LastSweep.At] = true
				mu.Unlock()
			}
		}
	}()
	f := leader.FSM()
	var first time.Time
	lastReport := start
	err = waitUntil(6*time.Hour, func() bool {
		if c.Leader() != l {
			b.Fatal("the leader changed during the trial: its successor sweeps at once")
		}
		if r.dead == 0 {
			for _, s := range f.Servers() {
				if s.ID == victim.ID && s.State == fileservers.StateDead {
					r.dead = time.Since(start)
				}
			}
		}
		queue := len(f.ReplicationQueue())
		if first.IsZero() && r.dead > 0 && queue < held {
			first = time.Now()
		}
		if time.Since(lastReport) > time.Minute {
			lastReport = time.Now()
			b.Logf("after %s: %d of %d files still queued", time.Since(start).Round(time.Second), queue, held)
		}
		if r.dead == 0 || queue > 0 {
			return false // a server not yet dead still counts its copies
		}
		for _, id := range ids {
			if live, _, _ := f.LiveCopies(id); live < 2 {
				return false
			}
		}
		return true
	})
	r.heal = time.Since(start)
	close(stop)
	<-done
	if err != nil {
		b.Fatal("the files did not get back to R copies: ", err)
	}
	if !first.IsZero() {
		r.copy = r.heal - first.Sub(start)
	}
	mu.Lock()
	r.sweeps = len(sweeps)
	mu.Unlock()
	return r
}

// writeFiles writes n files of 64 KiB through the API, 8 at a time.
func writeFiles(b *testing.B, url, token string, n int) {
	b.Helper()
	client := &http.Client{Timeout: time.Minute}
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := make([]byte, benchFileSize)
			for i := range work {
				rng := rand.New(rand.NewPCG(uint64(i), 10))
				for k := 0; k < len(body); k += 8 {
					v := rng.Uint64()
					for j := 0; j < 8; j++ {
						body[k+j] = byte(v >> (8 * j))
					}
				}
				req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/write?name=file%05d", url, i), bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("write file%05d: %s", i, resp.Status)
					return
				}
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range n {
			select {
			case work <- i:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// benchSweep is the part of /admin/dfs the benchmark reads.
type benchSweep struct {
	LastSweep *replication.LastSweep `json:"last_sweep"`
}

func trySweepStatus(url, token string) (benchSweep, bool) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url+"/admin/dfs", nil)
	if err != nil {
		return benchSweep{}, false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return benchSweep{}, false
	}
	defer resp.Body.Close()
	var st benchSweep
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return benchSweep{}, false
	}
	return st, true
}

func sweepStatus(b *testing.B, url, token string) benchSweep {
	b.Helper()
	st, ok := trySweepStatus(url, token)
	if !ok {
		b.Fatal("GET /admin/dfs failed")
	}
	return st
}

func loadavg() string {
	out, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := bytes.Fields(out)
	if len(f) < 3 {
		return "?"
	}
	return string(bytes.Join(f[:3], []byte(" ")))
}
