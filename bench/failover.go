package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Agents is the cluster under test as the failover benchmark needs it.
type Agents interface {
	// URLs returns every agent's base URL by node id.
	URLs() map[string]string
	// Kill kills the agent with SIGKILL; Restart starts it again and
	// returns once it answers /ready.
	Kill(id string) error
	Restart(id string) error
}

// Trial is one leader kill.
type Trial struct {
	Killed    string
	Failover  time.Duration // kill -> a write acknowledged through a survivor
	Detection time.Duration // kill -> a survivor's gossip reports it dead
}

// Failover kills the leader n times and measures each trial.
func Failover(c *http.Client, a Agents, n int) ([]Trial, error) {
	var out []Trial
	for trial := range n {
		urls := a.URLs()
		var all []string
		for _, u := range urls {
			all = append(all, u)
		}
		leaderURL, followers, err := Roles(c, all)
		if err != nil {
			return out, err
		}
		st, err := StatusOf(c, leaderURL)
		if err != nil {
			return out, err
		}
		victim, survivor := st.NodeID, followers[0]
		start := time.Now()
		if err := a.Kill(victim); err != nil {
			return out, err
		}
		name := fmt.Sprintf("failover-%d-%d", time.Now().UnixNano(), trial)
		write := func() bool {
			body, _ := json.Marshal(map[string]string{"name": name, "address": "10.9.9.9:80"})
			resp, err := c.Post(survivor+"/register", "application/json", bytes.NewReader(body))
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK
		}
		// Poll both conditions in one loop so each time is taken when it
		// first holds, whichever comes first.
		var t Trial
		t.Killed = victim
		for t.Failover == 0 || t.Detection == 0 {
			if time.Since(start) > 30*time.Second {
				return out, fmt.Errorf("trial %d after killing %s: failover %s, detection %s (0 = not seen in 30s)", trial, victim, t.Failover, t.Detection)
			}
			if t.Failover == 0 && write() {
				t.Failover = time.Since(start)
			}
			if t.Detection == 0 && memberState(c, survivor, victim) == "dead" {
				t.Detection = time.Since(start)
			}
			time.Sleep(2 * time.Millisecond)
		}
		out = append(out, t)
		if err := a.Restart(victim); err != nil {
			return out, err
		}
	}
	return out, nil
}

func memberState(c *http.Client, base, name string) string {
	resp, err := c.Get(base + "/admin/members")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct {
		Members []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"members"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	for _, m := range body.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

// Median of durations.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// CheckExclusion registers an instance whose /alive this process serves,
// makes it fail, and measures how long until lookups stop handing it out.
// The check is {interval, timeout: interval/2, failures_before_critical}.
func CheckExclusion(c *http.Client, target string, interval time.Duration, failures int) (time.Duration, error) {
	var up atomic.Bool
	up.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if up.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	name := fmt.Sprintf("checked-%d", time.Now().UnixNano()%1000000)
	body, _ := json.Marshal(map[string]any{
		"name": name, "address": ln.Addr().String(),
		"check": map[string]any{"interval": interval.String(), "timeout": (interval / 2).String(), "failures_before_critical": failures},
	})
	resp, err := c.Post(target+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("register: %s", resp.Status)
	}
	lookup := func() int {
		resp, err := c.Get(target + "/service/" + name)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if _, err := until(10*time.Second, func() bool { return lookup() == http.StatusOK }); err != nil {
		return 0, err
	}
	// Let a passing poll happen first, so the measurement starts mid-cycle
	// as it would in life, not right after registration.
	time.Sleep(interval + interval/3)
	up.Store(false)
	d, err := until(10*interval+10*time.Second, func() bool { return lookup() == http.StatusServiceUnavailable })
	return d, err
}

// Table renders load results as markdown.
func Table(rs []Result) string {
	var b strings.Builder
	b.WriteString("| operation | through | concurrency | ops/s | p50 | p99 | agents CPU µs/op | bench CPU µs/op | ok | errors |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %d | %d |\n", r.Op, r.Target, r.Concurrency, r.PerSecond(),
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond),
			cpuCell(r.AgentCPUPerOp()), cpuCell(r.SelfCPUPerOp()), r.Ops, r.Errors)
	}
	return b.String()
}
