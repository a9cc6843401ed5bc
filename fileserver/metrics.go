package fileserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one file server's Prometheus registry: its puts, gets and
// fsync latency, counted as they happen, and its store and scrubs, read
// on scrape. GET /metrics serves it, open like /alive (for scraping
// without the cluster key; it names no file).
type Metrics struct {
	reg    *prometheus.Registry
	puts   *prometheus.CounterVec
	gets   *prometheus.CounterVec
	fsyncs prometheus.Histogram
}

// NewMetrics builds the registry over store; scrub, if not nil, gives the
// scrubs' counts (Server.ScrubStats). It hooks the store's fsync timing.
func NewMetrics(store *Store, scrub func() ScrubStats) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		puts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodes_fileserver_puts_total",
			Help: "PUTs of a copy, by status code.",
		}, []string{"code"}),
		gets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custodes_fileserver_gets_total",
			Help: "GETs of a copy, by status code.",
		}, []string{"code"}),
		fsyncs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "custodes_fileserver_put_fsync_seconds",
			Help:    "Time to fsync a copy's data on PUT.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if store != nil {
		store.onFsync = func(d time.Duration) { m.fsyncs.Observe(d.Seconds()) }
	}
	m.reg.MustRegister(m.puts, m.gets, m.fsyncs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{store: store, scrub: scrub})
	return m
}

// Registry is the file server's registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// count wraps a handler to count its answers in c by status code.
func count(c *prometheus.CounterVec, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next(sw, r)
		c.WithLabelValues(strconv.Itoa(sw.code)).Inc()
	}
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// storeCollector reads, on scrape, the store's copies (a walk of the
// store's directory: O(copies)) and the scrubs' counts.
type storeCollector struct {
	store *Store
	scrub func() ScrubStats
}

var (
	descCopies        = prometheus.NewDesc("custodes_fileserver_copies", "Copies stored, by whether they are marked corrupt.", []string{"corrupt"}, nil)
	descBytes         = prometheus.NewDesc("custodes_fileserver_bytes", "Bytes of the copies stored.", nil, nil)
	descScrubRuns     = prometheus.NewDesc("custodes_fileserver_scrub_runs_total", "Scrubs started.", nil, nil)
	descScrubCopies   = prometheus.NewDesc("custodes_fileserver_scrub_copies_total", "Copies re-read by scrubs.", nil, nil)
	descScrubBytes    = prometheus.NewDesc("custodes_fileserver_scrub_bytes_total", "Bytes re-read by scrubs.", nil, nil)
	descScrubCorrupt  = prometheus.NewDesc("custodes_fileserver_scrub_corrupt_total", "Copies scrubs found corrupt.", nil, nil)
	descScrubLastTook = prometheus.NewDesc("custodes_fileserver_scrub_last_duration_seconds", "How long the latest scrub took.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCopies, descBytes, descScrubRuns, descScrubCopies, descScrubBytes, descScrubCorrupt, descScrubLastTook} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.store != nil {
		if inv, err := c.store.Inventory(); err == nil {
			var good, bad, bytes float64
			for _, ci := range inv {
				if ci.Corrupt {
					bad++
					continue
				}
				good++
				bytes += float64(ci.Size)
			}
			ch <- prometheus.MustNewConstMetric(descCopies, prometheus.GaugeValue, good, "false")
			ch <- prometheus.MustNewConstMetric(descCopies, prometheus.GaugeValue, bad, "true")
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, bytes)
		}
	}
	if c.scrub != nil {
		st := c.scrub()
		ch <- prometheus.MustNewConstMetric(descScrubRuns, prometheus.CounterValue, float64(st.Runs))
		ch <- prometheus.MustNewConstMetric(descScrubCopies, prometheus.CounterValue, float64(st.Copies))
		ch <- prometheus.MustNewConstMetric(descScrubBytes, prometheus.CounterValue, float64(st.Bytes))
		ch <- prometheus.MustNewConstMetric(descScrubCorrupt, prometheus.CounterValue, float64(st.Corrupt))
		ch <- prometheus.MustNewConstMetric(descScrubLastTook, prometheus.GaugeValue, st.Last.Took.Seconds())
	}
}
