package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/replication"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is one agent's Prometheus registry and the HTTP layer's own
// instruments. Everything else is read on scrape by collectors over the
// agent's state: no background goroutine keeps a metric up to date.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	raft     *raftMetrics
}

// LocalSweepStatus is what the metrics read of the replication sweep: its
// own status on this agent, not a call to the leader
// (*replication.Sweeper implements it).
type LocalSweepStatus interface {
	LocalStatus() replication.Status
}

// newMetrics builds the agent's registry: HTTP, Raft, gossip, checks, the
// file system, the sweep and the Go runtime and process.
func newMetrics(c Cluster, h Health, r Replication) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodes_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "custodes_http_request_duration_seconds",
			Help:    "HTTP request latency, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	var sweep LocalSweepStatus
	if l, ok := r.(LocalSweepStatus); ok {
		sweep = l
	}
	m.raft = newRaftMetrics()
	if o, ok := c.(interface{ SetObserver(cluster.Observer) }); ok {
		o.SetObserver(m.raft)
	}
	var checks CheckTransitions
	if t, ok := h.(CheckTransitions); ok {
		checks = t
	}
	m.reg.MustRegister(
		m.requests, m.latency,
		m.raft.leaderChanges, m.raft.commit, m.raft.batch, m.raft.failures, m.raft.forwarded, m.raft.forwards,
		newChecksCollector(checks),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newClusterCollector(c, sweep),
	)
	return m
}

// handler serves the registry in Prometheus' text format.
func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

// instrument counts and times every request by its route pattern (never
// the raw path, whose ids would make a series per instance). It runs the
// error handler itself, so that the status code is the one answered.
func (m *metrics) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		code := c.Response().Status
		m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
		m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// metricsView handles GET /metrics.
func (s *Server) metricsView(c echo.Context) error {
	if s.metrics == nil {
		return echo.NewHTTPError(http.StatusNotFound, errors.New("metrics are off"))
	}
	return s.metrics.handler()(c)
}

// Registry is the agent's Prometheus registry (for tests and embedders).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// raftStates are the values custodes_raft_state takes a label of.
var raftStates = []string{"Follower", "Candidate", "Leader", "Shutdown"}

// clusterCollector reads, on scrape, the Raft status, the gossip members,
// the catalog's checks, the file system's summary and, on the leader, the
// sweep's counts.
type clusterCollector struct {
	c     Cluster
	sweep LocalSweepStatus

	state, term, commit, applied, last, fsmApplied, snapshot, servers *prometheus.Desc
	diverged                                                          *prometheus.Desc
	members, checks                                                   *prometheus.Desc
	dfsServers, dfsFiles, dfsBytes, dfsUnder, dfsLost, dfsQueue       *prometheus.Desc
	serverBytes, serverFiles                                          *prometheus.Desc
	copied, failed, sweeps, inFlight, sweepTook                       *prometheus.Desc
}

func newClusterCollector(c Cluster, sweep LocalSweepStatus) *clusterCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &clusterCollector{
		c: c, sweep: sweep,
		state:       d("custodes_raft_state", "1 for this agent's Raft state, 0 for the others.", "state"),
		term:        d("custodes_raft_term", "Current Raft term."),
		commit:      d("custodes_raft_commit_index", "Raft commit index."),
		applied:     d("custodes_raft_applied_index", "Raft applied index."),
		last:        d("custodes_raft_last_index", "Index of the last entry in the Raft log."),
		fsmApplied:  d("custodes_fsm_applied_index", "Index the state machine has applied."),
		snapshot:    d("custodes_raft_last_snapshot_index", "Index of this agent's newest snapshot."),
		servers:     d("custodes_raft_servers", "Servers in the Raft configuration, by suffrage.", "suffrage"),
		diverged:    d("custodes_raft_diverged", "1 when this agent's state diverged from the cluster's and it is resynchronising (a restore that was not committed)."),
		members:     d("custodes_gossip_members", "Gossip members this agent knows of, by role and state.", "role", "state"),
		checks:      d("custodes_checks", "Instances with a health check, by status.", "status"),
		dfsServers:  d("custodes_dfs_servers", "Registered file servers, whatever their state."),
		dfsFiles:    d("custodes_dfs_files", "Files in the file system."),
		dfsBytes:    d("custodes_dfs_bytes", "Sum of the files' sizes (one copy each)."),
		dfsUnder:    d("custodes_dfs_under_replicated_files", "Files with fewer live copies than they want (lost ones included)."),
		dfsLost:     d("custodes_dfs_lost_files", "Files with no readable copy."),
		dfsQueue:    d("custodes_dfs_replication_queue", "Length of the replication queue."),
		serverBytes: d("custodes_dfs_server_bytes", "Bytes of the copies placed on a file server, per the index.", "server", "state"),
		serverFiles: d("custodes_dfs_server_files", "Copies placed on a file server, per the index.", "server", "state"),
		copied:      d("custodes_replication_copies_total", "Copies the sweep made since this agent became leader (leader only)."),
		failed:      d("custodes_replication_copy_failures_total", "Copies the sweep failed since this agent became leader (leader only)."),
		sweeps:      d("custodes_replication_sweeps_total", "Sweeps run since this agent became leader (leader only)."),
		inFlight:    d("custodes_replication_in_flight", "Copies running now (leader only)."),
		sweepTook:   d("custodes_replication_last_sweep_duration_seconds", "How long the latest sweep took (leader only)."),
	}
}

// Describe sends every descriptor.
func (k *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{k.state, k.term, k.commit, k.applied, k.last, k.fsmApplied, k.snapshot, k.servers, k.diverged,
		k.members, k.checks, k.dfsServers, k.dfsFiles, k.dfsBytes, k.dfsUnder, k.dfsLost, k.dfsQueue,
		k.serverBytes, k.serverFiles, k.copied, k.failed, k.sweeps, k.inFlight, k.sweepTook} {
		ch <- d
	}
}

// Collect reads the agent's state.
func (k *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	st := k.c.Status()
	for _, s := range raftStates {
		v := 0.0
		if s == st.State {
			v = 1
		}
		gauge(k.state, v, s)
	}
	gauge(k.term, float64(st.Term))
	gauge(k.commit, float64(st.CommitIndex))
	gauge(k.applied, float64(st.AppliedIndex))
	gauge(k.last, float64(st.LastIndex))
	gauge(k.fsmApplied, float64(st.FSMIndex))
	gauge(k.snapshot, float64(st.LastSnapshotIndex))
	diverged := 0.0
	if st.Diverged {
		diverged = 1
	}
	gauge(k.diverged, diverged)
	suffrage := map[string]int{}
	for _, s := range st.Servers {
		suffrage[s.Suffrage]++
	}
	for s, n := range suffrage {
		gauge(k.servers, float64(n), s)
	}

	type roleState struct{ role, state string }
	members := map[roleState]int{}
	for _, m := range k.c.Members() {
		members[roleState{m.Role, m.State}]++
	}
	for rs, n := range members {
		gauge(k.members, float64(n), rs.role, rs.state)
	}

	f := k.c.FSM()
	if f == nil {
		return
	}
	checks := map[string]int{}
	for _, in := range f.CheckedInstances() {
		checks[in.Status]++
	}
	for s, n := range checks {
		gauge(k.checks, float64(n), s)
	}
	k.collectDFS(f, gauge)
	if k.sweep != nil && st.State == "Leader" {
		sw := k.sweep.LocalStatus()
		counter(k.copied, float64(sw.Copied))
		counter(k.failed, float64(sw.Failed))
		counter(k.sweeps, float64(sw.Sweeps))
		gauge(k.inFlight, float64(sw.InFlight))
		if sw.LastSweep != nil {
			gauge(k.sweepTook, float64(sw.LastSweep.TookMS)/1000)
		}
	}
}

func (k *clusterCollector) collectDFS(f *fsm.FSM, gauge func(*prometheus.Desc, float64, ...string)) {
	sum := f.DFSSummary()
	gauge(k.dfsServers, float64(sum.Servers))
	gauge(k.dfsFiles, float64(sum.Files))
	gauge(k.dfsBytes, float64(sum.Bytes))
	gauge(k.dfsUnder, float64(sum.UnderReplicated))
	gauge(k.dfsLost, float64(sum.Lost))
	gauge(k.dfsQueue, float64(sum.Queue))
	for _, s := range f.Servers() {
		gauge(k.serverBytes, float64(s.Bytes), s.ID, s.State)
		gauge(k.serverFiles, float64(s.Files), s.ID, s.State)
	}
}
