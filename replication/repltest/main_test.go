package repltest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/fsm/fileservers"
)

// Every test starts its own file system (it kills and restarts parts of
// it): 3 agents, 4 file servers, R = 2, a sweep every 500 ms.
const (
	agents  = 3
	servers = 4
	want    = 2
)

// fsys is one test's file system and its users' tokens.
type fsys struct {
	c      *agenttest.Cluster
	tokens map[string]string
	http   *http.Client
	// mu guards the cluster's agents (killed and restarted by the test
	// while its goroutines call them); quit stops the goroutines, wg
	// waits for them, before the cluster shuts down.
	mu   sync.RWMutex
	quit chan struct{}
	wg   sync.WaitGroup
	logs *tail
}

// tail keeps the last lines the cluster logged.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (l *tail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, line)
	}
	if n := len(l.lines); n > 200 {
		l.lines = append([]string(nil), l.lines[n-200:]...)
	}
	return len(p), nil
}

func (l *tail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// start brings a file system up and shuts it down at the test's end.
func start(t *testing.T) *fsys {
	t.Helper()
	began := time.Now()
	logs := &tail{}
	c, tokens, err := agenttest.StartFileSystem(agents, []string{"alice", "bob"}, agenttest.Options{
		FileServers: servers,
		// Warnings (failed copies, confirmed deaths) are kept to be shown
		// when a test fails.
		LogOutput: logs,
		Configure: func(i int, cfg *agent.Config) {
			// Raft's test timings (100 ms) lose the leader now and then
			// under -race on two cores; 400 ms keeps elections short.
			cfg.Cluster.HeartbeatTimeout = 400 * time.Millisecond
			cfg.Cluster.ElectionTimeout = 400 * time.Millisecond
			cfg.Cluster.LeaderLeaseTimeout = 400 * time.Millisecond
			cfg.Directory.Replicas = want
			cfg.Directory.OldVersionGrace = 200 * time.Millisecond
			cfg.Replication.Interval = 500 * time.Millisecond
			cfg.Replication.Concurrency = 4
			cfg.Replication.ProbeTimeout = 300 * time.Millisecond
			cfg.Replication.CopyTimeout = 10 * time.Second
			cfg.Replication.InventoryInterval = 2 * time.Second
			// A deleted file is one the index does not know: its copies on
			// a server that was down go once they are this old.
			cfg.Replication.OrphanGrace = 3 * time.Second
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	t.Logf("file system of %d agents and %d file servers up in %s", agents, servers, time.Since(began).Round(time.Millisecond))
	f := &fsys{c: c, tokens: tokens, http: &http.Client{Timeout: 20 * time.Second}, quit: make(chan struct{}), logs: logs}
	t.Cleanup(func() { close(f.quit); f.wg.Wait() }) // before Shutdown
	return f
}

// killAgent kills agent i, as kill -9 would.
func (f *fsys) killAgent(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.c.Kill(i)
}

// restartAgent starts agent i again.
func (f *fsys) restartAgent(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.c.Restart(i)
}

// url is agent i's base URL.
func (f *fsys) url(i int) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.c.URL(i)
}

// answer is one small answer, read whole.
type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// do sends one request to agent i as user (a token name); it never fails
// the test, so goroutines may call it.
func (f *fsys) do(ctx context.Context, i int, user, method, path string, body []byte, header http.Header) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.url(i)+path, rd)
	if err != nil {
		return answer{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	resp, err := f.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: b, header: resp.Header}, nil
}

// call is do on a live agent for the test's goroutine: an error fails it.
func (f *fsys) call(t testing.TB, i int, user, method, path string, body []byte, header http.Header) answer {
	t.Helper()
	a, err := f.do(context.Background(), i, user, method, path, body, header)
	if err != nil {
		t.Fatalf("%s %s on agent %d: %v", method, path, i+1, err)
	}
	return a
}

// live returns the indexes of the running agents.
func (f *fsys) live() []int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []int
	for i, a := range f.c.Agents {
		if a != nil {
			out = append(out, i)
		}
	}
	return out
}

func q(s string) string { return url.QueryEscape(s) }

// content is what a file should read back as.
type content struct {
	owner, name string
	version     uint64
	bytes       []byte
}

// randomBytes is n pseudo-random bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// writeFiles writes n files of 4-16 KiB as alice through every agent in
// turn, four at a time, and returns them by name.
func (f *fsys) writeFiles(t *testing.T, n int, seed uint64) map[string]*content {
	t.Helper()
	began := time.Now()
	rng := rand.New(rand.NewPCG(seed, 1))
	out := map[string]*content{}
	var list []*content
	for k := range n {
		c := &content{owner: "alice", name: fmt.Sprintf("f%03d", k), version: 1, bytes: randomBytes(rng, 4<<10+rng.IntN(12<<10))}
		out[c.name] = c
		list = append(list, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan *content)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				if err := f.writeOne(w%agents, c); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, c := range list {
		next <- c
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d files written in %s", n, time.Since(began).Round(time.Millisecond))
	return out
}

// writeOne writes c through agent i as a client should (Resend: a 503
// is sent again once a leader is known, five tries in all); a 409 after
// such a retry means the first one committed, which the reads that
// follow check byte for byte.
func (f *fsys) writeOne(i int, c *content) error {
	var last answer
	status, retried, err := f.c.Resend(5, func(int) (int, error) {
		a, err := f.do(context.Background(), i, "alice", http.MethodPost, "/write?name="+q(c.name), c.bytes, nil)
		last = a
		return a.status, err
	})
	switch {
	case err != nil:
		return fmt.Errorf("write %s: %w", c.name, err)
	case status == http.StatusCreated, status == http.StatusConflict && retried:
		return nil
	}
	return fmt.Errorf("write %s: %s", c.name, last)
}

// read reads owner's name through agent i and checks the bytes (and the
// version, when the answer names one) against c.
func (f *fsys) read(ctx context.Context, i int, c *content) error {
	a, err := f.do(ctx, i, "alice", http.MethodGet, "/read?name="+q(c.name)+"&owner="+q(c.owner), nil, nil)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("read %s on agent %d: %s", c.name, i+1, a)
	}
	if v := a.header.Get("X-Custodes-Version"); v != "" && v != strconv.FormatUint(c.version, 10) {
		return fmt.Errorf("read %s on agent %d: version %s, want %d", c.name, i+1, v, c.version)
	}
	if !bytes.Equal(a.body, c.bytes) {
		return fmt.Errorf("read %s on agent %d: %d bytes that are not the %d written", c.name, i+1, len(a.body), len(c.bytes))
	}
	return nil
}

// reader reads every file in a loop through the live agents until stop
// is closed (or a minute passes, or 50 rounds), and reports each failed
// read on the returned channel once done.
func (f *fsys) reader(files map[string]*content, agentsUp func() []int, stop <-chan struct{}) <-chan []error {
	done := make(chan []error, 1)
	list := sortedContents(files)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		var errs []error
		deadline := time.Now().Add(time.Minute)
		reads := 0
		for round := 0; round < 50 && time.Now().Before(deadline); round++ {
			for k, c := range list {
				select {
				case <-stop:
					done <- errs
					return
				case <-f.quit:
					done <- errs
					return
				default:
				}
				up := agentsUp()
				if len(up) == 0 {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := f.read(ctx, up[k%len(up)], c); err != nil {
					errs = append(errs, err)
				}
				cancel()
				reads++
			}
		}
		done <- errs
	}()
	return done
}

func sortedContents(files map[string]*content) []*content {
	var list []*content
	for _, c := range files {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *content) int { return bytesCompare(a.name, b.name) })
	return list
}

func bytesCompare(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

// leaderFSM waits for a leader and returns its index.
func (f *fsys) leader(t testing.TB) int {
	t.Helper()
	l, err := f.c.WaitForLeader(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// atR says why the files are not all at R live copies on distinct alive
// servers of the leader's index, each copy on its server's disk with the
// index's size and SHA-256, the queue empty; "" when they are.
func (f *fsys) atR(files map[string]*content) string {
	l := f.c.Leader()
	if l < 0 || f.c.Agents[l] == nil {
		return "no leader"
	}
	fm := f.c.Agents[l].Node().FSM()
	if q := fm.ReplicationQueue(); len(q) > 0 {
		return fmt.Sprintf("%d files queued (first %s, replicas %v)", len(q), q[0].Name, q[0].Replicas)
	}
	state := map[string]string{}
	for _, s := range fm.Servers() {
		state[s.ID] = s.State
	}
	for _, c := range sortedContents(files) {
		fl, ok := fm.FileByName(c.owner, c.name)
		if !ok {
			return "no file " + c.name
		}
		if fl.Version != c.version {
			return fmt.Sprintf("%s at version %d, want %d", c.name, fl.Version, c.version)
		}
		live := 0
		seen := map[string]bool{}
		for _, r := range fl.Replicas {
			if seen[r] {
				return fmt.Sprintf("%s lists %s twice", c.name, r)
			}
			seen[r] = true
			if state[r] != fileservers.StateAlive {
				continue
			}
			live++
			if why := f.onDisk(r, fl.ID, fl.Version, fl.Size, fl.SHA256); why != "" {
				return c.name + ": " + why
			}
		}
		if live != want {
			return fmt.Sprintf("%s has %d live copies (%v), want %d", c.name, live, fl.Replicas, want)
		}
	}
	return ""
}

// onDisk says why server id's store has no good copy of (file, version).
func (f *fsys) onDisk(id, file string, version uint64, size int64, sha string) string {
	i := f.c.FileServerIndex(id)
	if i < 0 {
		return "unknown server " + id
	}
	s := f.c.FileServer(i)
	if s == nil {
		return fmt.Sprintf("listed on %s, which is down", id)
	}
	info, err := s.Store().Stat(file, version)
	if err != nil {
		return fmt.Sprintf("listed on %s, whose store has no version %d: %v", id, version, err)
	}
	if info.Corrupt || info.Size != size || info.SHA256 != sha {
		return fmt.Sprintf("listed on %s, whose copy is not the index's (%+v)", id, info)
	}
	return ""
}

// waitAtR waits until every file is at R (atR) and returns how long it took.
func (f *fsys) waitAtR(t *testing.T, files map[string]*content, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	var why string
	deadline := began.Add(within)
	for {
		if why = f.atR(files); why == "" {
			return time.Since(began)
		}
		if time.Now().After(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if l := f.c.Leader(); l >= 0 {
				if a, err := f.do(ctx, l, "root", http.MethodGet, "/admin/dfs", nil, nil); err == nil {
					t.Logf("the leader's /admin/dfs: %s", a.body)
				}
			}
			cancel()
			t.Logf("the cluster's last log lines:\n%s", f.logs)
			t.Fatalf("after %s the files are not at R: %s", within, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// overview is /admin/dfs.
type overview struct {
	Servers []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Files int64  `json:"files"`
	} `json:"servers"`
	Files     int64 `json:"files"`
	Queue     int64 `json:"replication_queue"`
	Lost      int64 `json:"lost"`
	InFlight  int   `json:"in_flight"`
	Copied    int64 `json:"copied"`
	LastSweep *struct {
		Copied int `json:"copied"`
		Failed int `json:"failed"`
	} `json:"last_sweep"`
	SweepError string `json:"sweep_error"`
}

func (f *fsys) adminDFS(ctx context.Context, i int) (overview, error) {
	a, err := f.do(ctx, i, "root", http.MethodGet, "/admin/dfs", nil, nil)
	if err != nil {
		return overview{}, err
	}
	var o overview
	if a.status != http.StatusOK {
		return o, fmt.Errorf("/admin/dfs: %s", a)
	}
	return o, json.Unmarshal(a.body, &o)
}

func (o overview) state(id string) string {
	for _, s := range o.Servers {
		if s.ID == id {
			return s.State
		}
	}
	return ""
}

// holder returns a running file server holding copies in the leader's
// index (the one listed first by the most files).
func (f *fsys) holder(t testing.TB) string {
	t.Helper()
	fm := f.c.Agents[f.leader(t)].Node().FSM()
	best, most := "", int64(0)
	for _, s := range fm.Servers() {
		if s.State == fileservers.StateAlive && s.Files > most && f.c.FileServer(f.c.FileServerIndex(s.ID)) != nil {
			best, most = s.ID, s.Files
		}
	}
	if best == "" {
		t.Fatal("no file server holds a copy")
	}
	return best
}

// waitState waits until the leader's index has server id in state.
func (f *fsys) waitState(t testing.TB, id, state string, within time.Duration) {
	t.Helper()
	agenttest.WaitFor(t, id+" "+state+" in the index", within, func() bool {
		l := f.c.Leader()
		if l < 0 {
			return false
		}
		s, ok := f.c.Agents[l].Node().FSM().Server(id)
		return ok && s.State == state
	})
}
