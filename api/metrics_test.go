package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/replication"
	"github.com/prometheus/client_golang/prometheus"
)

// metricsCluster is enough of a Cluster for the collectors.
type metricsCluster struct {
	fakeCluster
	f *fsm.FSM
}

func (metricsCluster) ID() string { return "a1" }
func (metricsCluster) ConsistentRead(context.Context) (uint64, error) {
	return 0, errors.New("no leader")
}
func (c metricsCluster) FSM() *fsm.FSM { return c.f }
func (metricsCluster) Status() cluster.RaftStatus {
	return cluster.RaftStatus{NodeID: "a1", State: "Leader", Term: 3, CommitIndex: 42, AppliedIndex: 41, LastIndex: 43,
		Servers: []cluster.Server{{ID: "a1", Suffrage: "Voter"}, {ID: "a2", Suffrage: "Voter"}}}
}
func (metricsCluster) Members() []cluster.Member {
	return []cluster.Member{{Name: "a1", Role: "registry", State: "alive"}, {Name: "a2", Role: "registry", State: "dead"},
		{Name: "f1", Role: "file", State: "alive"}}
}

// fakeSweep answers its local status; Status (the leader call) must not be used.
type fakeSweep struct{ Replication }

func (fakeSweep) LocalStatus() replication.Status {
	return replication.Status{Copied: 7, Failed: 2, Sweeps: 5}
}

func scrape(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestMetricsCollectors(t *testing.T) {
	s := New(metricsCluster{f: fsm.New(fsm.Config{})}, nil, nil, fakeSweep{}, Config{})
	// A request to a route with a parameter is counted by its pattern.
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/alive", nil))
	body := scrape(t, s)
	for _, want := range []string{
		`custodes_raft_state{state="Leader"} 1`,
		`custodes_raft_state{state="Follower"} 0`,
		`custodes_raft_term 3`,
		`custodes_raft_commit_index 42`,
		`custodes_raft_applied_index 41`,
		`custodes_raft_last_index 43`,
		`custodes_raft_servers{suffrage="Voter"} 2`,
		`custodes_gossip_members{role="registry",state="alive"} 1`,
		`custodes_gossip_members{role="registry",state="dead"} 1`,
		`custodes_gossip_members{role="file",state="alive"} 1`,
		`custodes_dfs_files 0`,
		`custodes_dfs_lost_files 0`,
		`custodes_dfs_replication_queue 0`,
		`custodes_replication_copies_total 7`,
		`custodes_replication_copy_failures_total 2`,
		`custodes_http_requests_total{code="200",method="GET",route="/alive"} 1`,
		`custodes_http_request_duration_seconds_bucket{method="GET",route="/alive",le="+Inf"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}

func TestMetricsRouteNotRawPath(t *testing.T) {
	s := New(metricsCluster{f: fsm.New(fsm.Config{})}, nil, nil, nil, Config{})
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/instance/some-id-123", nil))
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/nowhere/at/all", nil))
	body := scrape(t, s)
	if strings.Contains(body, "some-id-123") || strings.Contains(body, "nowhere") {
		t.Fatalf("a raw path is a label:\n%s", body)
	}
	if !strings.Contains(body, `route="/instance/:id"`) {
		t.Fatalf("no route pattern:\n%s", body)
	}
	// Without a sweep: no sweep counts.
	if strings.Contains(body, "custodes_replication_copies_total ") {
		t.Fatalf("sweep counts without a sweep:\n%s", body)
	}
}

// Every agent metric the Grafana dashboard in docs/ queries is one the
// agent registers (file servers' own are left to their package).
func TestGrafanaDashboardQueriesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	s := New(metricsCluster{f: fsm.New(fsm.Config{})}, nil, nil, fakeSweep{}, Config{})
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		s.Registry().Describe(ch)
		close(ch)
	}()
	known := map[string]bool{}
	nameRE := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := nameRE.FindStringSubmatch(d.String()); m != nil {
			known[m[1]] = true
		}
	}
	used := regexp.MustCompile(`custodes_[a-z_]+`).FindAllString(string(raw), -1)
	if len(used) == 0 {
		t.Fatal("the dashboard queries no custodes metric")
	}
	for _, name := range used {
		if strings.HasPrefix(name, "custodes_fileserver_") || name == "custodes_agents" {
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			t.Errorf("the dashboard queries %s, which the agent does not register", name)
		}
	}
}
