package cluster_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

var client = &http.Client{Timeout: 10 * time.Second}

func startCluster(t *testing.T, n int, opts agenttest.Options) *agenttest.Cluster {
	t.Helper()
	c, err := agenttest.Start(n, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

type result struct {
	ID     string `json:"id"`
	Change string `json:"change"`
	Index  uint64 `json:"index"`
}

func register(t *testing.T, url, name, addr string) result {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "address": addr, "version": "1"})
	resp, err := client.Post(url+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("register %s at %s: %v", name, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s at %s: %d %s", name, url, resp.StatusCode, raw)
	}
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// lookup returns the status and the number of instances of name.
func lookup(t *testing.T, url, name, query string) (int, int) {
	t.Helper()
	resp, err := client.Get(url + "/service/" + name + query)
	if err != nil {
		t.Fatalf("lookup %s at %s: %v", name, url, err)
	}
	defer resp.Body.Close()
	var body struct {
		Instances []json.RawMessage `json:"instances"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, len(body.Instances)
}

func TestWriteThroughFollowerIsReadEverywhere(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	f := c.Followers()[0]
	r := register(t, c.URL(f), "web", "10.0.0.1:80")
	if r.Change != "created" || r.ID == "" {
		t.Fatalf("unexpected result %+v", r)
	}
	// Linearizable reads: visible on every agent at once, no waiting.
	for i := range c.Agents {
		if status, n := lookup(t, c.URL(i), "web", ""); status != 200 || n != 1 {
			t.Fatalf("agent %d: status %d, %d instances", i, status, n)
		}
	}
}

// With --apply-groups 0 and --forward-in-flight 1 (no grouping, one
// forwarded batch at a time) concurrent writes through a follower still
// each get their own answer.
func TestWritesWithoutGroupingOrWideForwarding(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{Configure: func(_ int, cfg *agent.Config) {
		cfg.Cluster.ApplyGroups = 0
		cfg.Cluster.ForwardInFlight = 1
	}})
	f := c.Followers()[0]
	const n = 30
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"name": "plain", "address": fmt.Sprintf("10.2.0.%d:80", i+1)})
			resp, err := client.Post(c.URL(f)+"/register", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var r result
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusCreated || r.Change != "created" {
				t.Errorf("register %d: status %d, %+v, %v", i, resp.StatusCode, r, err)
				return
			}
			ids <- r.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct ids for %d registrations", len(seen), n)
	}
	if status, got := lookup(t, c.LeaderURL(t), "plain", ""); status != 200 || got != n {
		t.Fatalf("lookup: status %d, %d instances, want %d", status, got, n)
	}
}

func TestLeaderFailoverKeepsAcknowledgedWrites(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	l := c.Leader()
	var acked []string
	for i := range 20 {
		name := fmt.Sprintf("svc-%d", i)
		register(t, c.URL((l+1+i)%3), name, "10.0.0.1:80")
		acked = append(acked, name)
	}
	c.Kill(l)
	nl, err := c.WaitForLeader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if nl == l {
		t.Fatalf("killed agent %d is still reported leader", l)
	}
	for _, i := range c.Followers() {
		for _, name := range acked {
			if status, n := lookup(t, c.URL(i), name, ""); status != 200 || n != 1 {
				t.Fatalf("agent %d lost %s after failover: %d, %d", i, name, status, n)
			}
		}
	}
	// The survivors still accept writes through either of them.
	register(t, c.URL(c.Followers()[0]), "after-failover", "10.0.0.2:80")
}

func TestRestartAllKeepsData(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	for i := range 10 {
		register(t, c.URL(i%3), fmt.Sprintf("keep-%d", i), "10.0.0.1:80")
	}
	for i := range c.Agents {
		c.Stop(i)
	}
	for i := range c.Agents {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WaitForLeader(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForVoters(3, 5*time.Second); err != nil {
		t.Fatal("voters after restart:", err)
	}
	for i := range c.Agents {
		for k := range 10 {
			if status, n := lookup(t, c.URL(i), fmt.Sprintf("keep-%d", k), ""); status != 200 || n != 1 {
				t.Fatalf("agent %d lost keep-%d after restart: %d", i, k, status)
			}
		}
	}
}

func TestKilledAgentRejoinsAsItselfFromSnapshot(t *testing.T) {
	// A tiny snapshot threshold makes the leader compact its log, so the
	// returning agent must be brought up to date by InstallSnapshot.
	c := startCluster(t, 3, agenttest.Options{Configure: func(_ int, cfg *agent.Config) {
		cfg.Cluster.SnapshotThreshold = 16
		cfg.Cluster.SnapshotInterval = 50 * time.Millisecond
		cfg.Cluster.TrailingLogs = 4
	}})
	victim := c.Followers()[0]
	id := c.Agents[victim].Node().ID()
	c.Kill(victim)
	var last result
	for i := range 60 {
		last = register(t, c.LeaderURL(t), fmt.Sprintf("while-down-%d", i), "10.0.0.1:80")
	}
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForIndex(last.Index, 10*time.Second); err != nil {
		t.Fatalf("restarted agent did not catch up to %d: %v", last.Index, err)
	}
	if got := c.Agents[victim].Node().ID(); got != id {
		t.Fatalf("restarted as %q, want %q", got, id)
	}
	if err := c.WaitForVoters(3, 5*time.Second); err != nil {
		t.Fatal("voters after rejoin:", err)
	}
	status, n := lookup(t, c.URL(victim), "while-down-59", "?stale")
	if status != 200 || n != 1 {
		t.Fatalf("stale read on the rejoined agent: %d, %d", status, n)
	}
}
