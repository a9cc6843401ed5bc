package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
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
}

// PerSecond is the achieved rate of successful operations.
func (r Result) PerSecond() float64 { return float64(r.Ops) / r.Duration.Seconds() }

// op performs one operation number n; it returns whether it succeeded.
type op func(ctx context.Context, c *http.Client, base string, n int64) bool

// Register creates a new instance per call (distinct name and address).
func Register(prefix string) op {
	return func(ctx context.Context, c *http.Client, base string, n int64) bool {
		body, _ := json.Marshal(map[string]string{
			"name":    fmt.Sprintf("%s-%d", prefix, n%100),
			"address": fmt.Sprintf("10.%d.%d.%d:%d", (n>>16)&255, (n>>8)&255, n&255, 1+n%60000),
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/register", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(c, req, http.StatusCreated)
	}
}

// Lookup reads one of the services a warm-up registered.
func Lookup(prefix, query string) op {
	return func(ctx context.Context, c *http.Client, base string, n int64) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/service/%s-%d%s", base, prefix, n%100, query), nil)
		return do(c, req, http.StatusOK)
	}
}

func do(c *http.Client, req *http.Request, want int) bool {
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == want
}

// Run drives op against base with conc workers for d, recording every
// latency of a successful operation.
func Run(c *http.Client, base string, conc int, d time.Duration, f op) Result {
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
			for ctx.Err() == nil {
				n := next.Add(1) + offset
				t0 := time.Now()
				ok := f(ctx, c, base, n)
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
