package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// raftMetrics are the instruments fed as things happen, by the cluster
// layer (cluster.Observer): the rest of the metrics are read on scrape.
type raftMetrics struct {
	leaderChanges prometheus.Counter
	commit        prometheus.Histogram
	batch         prometheus.Histogram
	failures      prometheus.Counter
	forwarded     prometheus.Counter
	forwards      prometheus.Counter
}

func newRaftMetrics() *raftMetrics {
	return &raftMetrics{
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custodes_raft_leader_changes_total",
			Help: "Leader changes this agent saw (to a new leader, or to none).",
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "custodes_raft_apply_duration_seconds",
			Help: "From handing an entry to Raft to its being committed and applied, on the leader.",
			// Raft commits in about a millisecond on a quiet LAN and
			// tens of them under load or with fsyncs.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custodes_raft_apply_batch_commands",
			Help:    "Commands per Raft entry the leader proposed (1 for a plain entry, more for a batch).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custodes_raft_apply_failures_total",
			Help: "Entries the leader proposed that Raft refused or lost (leadership lost, timeout, shutdown).",
		}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custodes_forwarded_writes_total",
			Help: "Write commands this agent forwarded to the leader as a follower.",
		}),
		forwards: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "custodes_forward_calls_total",
			Help: "Calls that carried forwarded writes to the leader (several writes may share one).",
		}),
	}
}

// Committed implements cluster.Observer.
func (r *raftMetrics) Committed(commands int, took time.Duration, failed bool) {
	if failed {
		r.failures.Inc()
		return
	}
	r.commit.Observe(took.Seconds())
	r.batch.Observe(float64(commands))
}

// Forwarded implements cluster.Observer.
func (r *raftMetrics) Forwarded(commands int) {
	r.forwards.Inc()
	r.forwarded.Add(float64(commands))
}

// LeaderChanged implements cluster.Observer.
func (r *raftMetrics) LeaderChanged(string) { r.leaderChanges.Inc() }

// CheckTransitions is what the metrics read of the health checker
// (*health.Checker implements it).
type CheckTransitions interface {
	Transitions() map[string]uint64
}

// checksCollector reads the checker's transition counts on scrape.
type checksCollector struct {
	h    CheckTransitions
	desc *prometheus.Desc
}

func newChecksCollector(h CheckTransitions) *checksCollector {
	return &checksCollector{h: h, desc: prometheus.NewDesc("custodes_check_transitions_total",
		"Health status changes this agent's checks recorded, by the status reached.", []string{"status"}, nil)}
}

func (c *checksCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *checksCollector) Collect(ch chan<- prometheus.Metric) {
	if c.h == nil {
		return
	}
	for s, n := range c.h.Transitions() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), s)
	}
}
