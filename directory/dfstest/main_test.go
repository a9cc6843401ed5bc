package dfstest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster/gossip"
)

// The cluster every test of the package shares: 3 agents, 3 file servers
// (R = 2), a cluster key, ACLs bootstrapped. Tests run one after the
// other; each leaves the file servers running and its files deleted.
var (
	cl     *agenttest.Cluster
	keys   [][]byte
	tokens map[string]string
)

var users = []string{"alice", "bob", "carol", "dave"}

func TestMain(m *testing.M) {
	keys = agenttest.NewKeys()
	var err error
	cl, tokens, err = agenttest.StartFileSystem(3, users, agenttest.Options{
		Keys: keys, FileServers: 3,
		// Raft's test timings (100 ms) lose the leader now and then
		// while 200 MiB stream through the same process on two cores
		// beside other packages' clusters; no test here moves the leader.
		Configure: func(i int, c *agent.Config) {
			c.Cluster.HeartbeatTimeout = 500 * time.Millisecond
			c.Cluster.ElectionTimeout = 500 * time.Millisecond
			c.Cluster.LeaderLeaseTimeout = 500 * time.Millisecond
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the file system:", err)
		os.Exit(1)
	}
	code := m.Run()
	cl.Shutdown()
	os.Exit(code)
}

// httpClient bounds every call of the tests; the 200 MiB transfers set
// their own deadline through the request's context.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// answer is one small answer, read whole.
type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// call sends one request to agent i as user ("" for none). A GET
// answered 503 (no leader for the moment: Retry-After) is asked again
// once the cluster has a leader, a few times at most.
func call(t testing.TB, i int, user, method, path string, body []byte, header http.Header) answer {
	t.Helper()
	a := call1(t, i, user, method, path, body, header)
	for try := 0; try < 3 && method == http.MethodGet && a.status == http.StatusServiceUnavailable; try++ {
		t.Logf("%s %s on agent %d: %s; asking again once there is a leader", method, path, i+1, a)
		if _, err := cl.WaitForLeader(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		a = call1(t, i, user, method, path, body, header)
	}
	return a
}

func call1(t testing.TB, i int, user, method, path string, body []byte, header http.Header) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, cl.URL(i)+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+tokens[user])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s on agent %d: %v", method, path, i+1, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s on agent %d: reading the answer: %v", method, path, i+1, err)
	}
	return answer{status: resp.StatusCode, body: b, header: resp.Header}
}

func q(name string) string { return url.QueryEscape(name) }

// fileView is the write's, update's and stat's answer.
type fileView struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Owner    string   `json:"owner"`
	Version  uint64   `json:"version"`
	Size     int64    `json:"size"`
	SHA256   string   `json:"sha256"`
	Replicas []string `json:"replicas"`
}

func decode[T any](t testing.TB, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("decoding %s: %v", a, err)
	}
	return v
}

// write stores b as user's name through agent i and expects 201.
func write(t testing.TB, i int, user, name string, b []byte) fileView {
	t.Helper()
	a := call(t, i, user, http.MethodPost, "/write?name="+q(name), b, nil)
	if a.status != http.StatusCreated {
		t.Fatalf("write %q as %s on agent %d: %s", name, user, i+1, a)
	}
	return decode[fileView](t, a)
}

// stat is /stat of owner's name as user through agent i; it expects 200.
func stat(t testing.TB, i int, user, owner, name string) fileView {
	t.Helper()
	a := call(t, i, user, http.MethodGet, "/stat?name="+q(name)+"&owner="+q(owner), nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("stat %q of %s as %s on agent %d: %s", name, owner, user, i+1, a)
	}
	return decode[fileView](t, a)
}

// grant is /lock's answer.
type grant struct {
	Token   string    `json:"token"`
	Fence   uint64    `json:"fence"`
	Expires time.Time `json:"expires"`
	File    string    `json:"file"`
}

// lock takes owner's name's lock as user through agent i for ttl.
func lock(t testing.TB, i int, user, owner, name, ttl string) (answer, grant) {
	t.Helper()
	a := call(t, i, user, http.MethodPost, "/lock?name="+q(name)+"&owner="+q(owner)+"&ttl="+ttl, nil, nil)
	var g grant
	if a.status == http.StatusOK {
		g = decode[grant](t, a)
	}
	return a, g
}

// serverView is one file server in /admin/dfs.
type serverView struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Gossip string `json:"gossip"`
	Ring   uint64 `json:"ring"`
	Files  int64  `json:"files"`
	Bytes  int64  `json:"bytes"`
}

type overview struct {
	Servers  []serverView `json:"servers"`
	Files    int64        `json:"files"`
	Replicas int          `json:"replicas"`
}

func adminDFS(t testing.TB, i int) overview {
	t.Helper()
	a := call(t, i, "root", http.MethodGet, "/admin/dfs", nil, nil)
	if a.status != http.StatusOK {
		t.Fatalf("/admin/dfs on agent %d: %s", i+1, a)
	}
	return decode[overview](t, a)
}

// ringOrder is the servers' ids in ring order.
func ringOrder(o overview) []string {
	s := slices.Clone(o.Servers)
	slices.SortFunc(s, func(a, b serverView) int { return int(a.Ring) - int(b.Ring) })
	ids := make([]string, len(s))
	for i, v := range s {
		ids[i] = v.ID
	}
	return ids
}

// healthy restarts the file servers a test killed and waits until every
// agent sees all three registered and alive in the index and in gossip.
func healthy(t testing.TB) {
	t.Helper()
	for i := range cl.FileServers() {
		if cl.FileServer(i) == nil {
			if err := cl.RestartFileServer(i); err != nil {
				t.Fatalf("restarting file server %d: %v", i+1, err)
			}
		}
	}
	agenttest.WaitFor(t, "every agent to see 3 live file servers", 20*time.Second, func() bool {
		for i, a := range cl.Agents {
			alive := 0
			for _, m := range a.Node().Members() {
				if m.Role == gossip.RoleFile && m.State == gossip.StateAlive {
					alive++
				}
			}
			if alive != 3 {
				return false
			}
			for _, s := range adminDFS(t, i).Servers {
				if s.State != "alive" || s.Gossip != "alive" {
					return false
				}
			}
		}
		return true
	})
}

// wipe deletes every file of every user and waits until the index
// counts none on any server.
func wipe(t testing.TB) {
	t.Helper()
	for _, u := range users {
		a := call(t, 0, u, http.MethodGet, "/all", nil, nil)
		if a.status != http.StatusOK {
			t.Fatalf("/all as %s: %s", u, a)
		}
		list := decode[struct {
			Files []struct{ Name, Owner string } `json:"files"`
		}](t, a)
		for _, f := range list.Files {
			if f.Owner != u {
				continue
			}
			if d := call(t, 0, u, http.MethodDelete, "/file?name="+q(f.Name), nil, nil); d.status != http.StatusOK {
				t.Fatalf("delete %q of %s: %s", f.Name, u, d)
			}
		}
	}
	agenttest.WaitFor(t, "the index to count no file", 10*time.Second, func() bool {
		for i := range cl.Agents {
			o := adminDFS(t, i)
			if o.Files != 0 {
				return false
			}
			for _, s := range o.Servers {
				if s.Files != 0 || s.Bytes != 0 {
					return false
				}
			}
		}
		return true
	})
}

// clean is every test's start and end: the file servers up, no file.
func clean(t *testing.T) {
	t.Helper()
	healthy(t)
	wipe(t)
	t.Cleanup(func() {
		healthy(t)
		wipe(t)
	})
}

// withTimeout is a context for one long transfer.
func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
