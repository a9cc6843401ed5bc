package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Client is the HTTP client every measurement shares: keep-alive, enough
// idle connections for the highest concurrency.
func Client(maxConc int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        4 * maxConc,
			MaxIdleConnsPerHost: 2 * maxConc,
			IdleConnTimeout:     90 * time.Second,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		},
	}
}

// Result is one (operation, target, concurrency) run.
type Result struct {
	Op          string
	Target      string // leader or follower
	Concurrency int
	Ops         int
	Errors      int
	Duration    time.Duration
	P50, P99    time.Duration
	// AgentCPU is the CPU time all agents used during the run, SelfCPU the
	// load generator's own (see WithCPU); both are meaningful only if
	// CPUKnown.
	AgentCPU, SelfCPU time.Duration
	CPUKnown          bool
}

// PerSecond is the achieved rate of successful operations.
func (r Result) PerSecond() float64 { return float64(r.Ops) / r.Duration.Seconds() }

// op performs one operation number n on a worker's connection; it
// returns whether it succeeded.
type op func(c *Conn, n int64) bool

// Register creates a new instance per call (distinct name and address).
func Register(prefix string) op {
	return func(c *Conn, n int64) bool {
		// The body is built by hand, not by encoding/json: the load
		// generator shares the machine's cores with the agents it measures.
		b := c.body[:0]
		b = append(b, `{"name":"`...)
		b = append(b, prefix...)
		b = append(b, '-')
		b = strconv.AppendInt(b, n%100, 10)
		b = append(b, `","address":"10.`...)
		b = strconv.AppendInt(b, (n>>16)&255, 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, (n>>8)&255, 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, n&255, 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, 1+n%60000, 10)
		b = append(b, `"}`...)
		c.body = b
		return c.Do(http.MethodPost, "/register", b) == http.StatusCreated
	}
}

// Lookup reads one of the services a warm-up registered.
func Lookup(prefix, query string) op {
	return func(c *Conn, n int64) bool {
		path := fmt.Sprintf("/service/%s-%d%s", prefix, n%100, query)
		return c.Do(http.MethodGet, path, nil) == http.StatusOK
	}
}

// Run drives op against base with conc workers for d, recording every
// latency of a successful operation.
func Run(base string, conc int, d time.Duration, f op) Result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		lat    []time.Duration
		wg     sync.WaitGroup
		start  = time.Now()
		offset = time.Now().UnixNano() & 0xffffff // distinct names across runs
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			c := Dial(base, d+5*time.Second)
			defer c.Close()
			for ctx.Err() == nil {
				n := next.Add(1) + offset
				t0 := time.Now()
				ok := f(c, n)
				if ctx.Err() != nil {
					break // cut by the deadline: neither success nor error
				}
				if ok {
					local = append(local, time.Since(t0))
				} else {
					errs.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Result{Concurrency: conc, Ops: len(lat), Errors: int(errs.Load()), Duration: elapsed}
	if len(lat) > 0 {
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[len(lat)*99/100]
	}
	return r
}
