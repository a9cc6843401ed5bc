package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The DFS benchmark (issue 9) drives one code path against several stores
// through a Store adapter: the custodes directory through an agent, the
// SeaweedFS filer, and the direct baselines (one custodes file server, or
// a plain fsyncing writer). A Store only builds requests and says which
// answer is a success; sending, streaming, timing and checking the bytes
// are shared (RunDFS).

// Store builds the HTTP requests of one storage system.
type Store interface {
	// Name labels the store's rows in the table.
	Name() string
	// WriteRequest stores size bytes read from body under name.
	WriteRequest(ctx context.Context, name string, body io.Reader, size int64) (*http.Request, error)
	// WriteOK says whether an answer's status means the write is stored.
	WriteOK(status int) bool
	// ReadRequest reads back what WriteRequest stored under name.
	ReadRequest(ctx context.Context, name string) (*http.Request, error)
}

// DFSClient is the HTTP client of the DFS benchmark: keep-alive, enough
// idle connections for maxConc workers, no transparent gzip (the bytes
// counted are the bytes sent), and no overall timeout (a 64 MiB transfer
// is bounded by its run's context instead).
func DFSClient(maxConc int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        4 * maxConc,
			MaxIdleConnsPerHost: 2 * maxConc,
			IdleConnTimeout:     90 * time.Second,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			DisableCompression:  true,
			WriteBufferSize:     64 << 10,
			ReadBufferSize:      64 << 10,
		},
	}
}

// DFSResult is one (store, operation, size, concurrency) run.
type DFSResult struct {
	Store       string
	Op          string // write or read
	Size        int64  // bytes per operation
	Concurrency int
	Ops         int   // successful operations
	Errors      int   // failed ones (a run's deadline cutting one is neither)
	Bytes       int64 // bytes moved by the successful operations
	Duration    time.Duration
	P50, P99    time.Duration
	FirstError  string // the first failure, to show why a row has errors
}

// PerSecond is the rate of successful operations.
func (r DFSResult) PerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Duration.Seconds()
}

// MBPerSecond is the rate of bytes moved by successful operations, in
// MB/s (10^6 bytes).
func (r DFSResult) MBPerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.Duration.Seconds()
}

// tally is one worker's record of a run.
type tally struct {
	lat      []time.Duration // of successful operations
	bytes    int64
	errors   int
	firstErr string
}

// aggregate merges the workers' tallies of a run that took elapsed.
func aggregate(store, op string, size int64, conc int, elapsed time.Duration, ts []tally) DFSResult {
	r := DFSResult{Store: store, Op: op, Size: size, Concurrency: conc, Duration: elapsed}
	var lat []time.Duration
	for _, t := range ts {
		lat = append(lat, t.lat...)
		r.Bytes += t.bytes
		r.Errors += t.errors
		if r.FirstError == "" {
			r.FirstError = t.firstErr
		}
	}
	r.Ops = len(lat)
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[len(lat)*99/100]
	}
	return r
}

// DFSRun is one run's settings.
type DFSRun struct {
	Op          string // write or read
	Size        int64
	Concurrency int
	MaxOps      int           // at most this many operations (0: no bound but time)
	MaxTime     time.Duration // at most this long
	// Names: a write uses Prefix + "-" + its number; a read cycles over
	// Names (what a write run stored).
	Prefix string
	Names  []string
}

// RunDFS drives one run against s and returns its result and, for a
// write run, the names it stored.
func RunDFS(c *http.Client, s Store, run DFSRun) (DFSResult, []string) {
	if run.Concurrency < 1 {
		run.Concurrency = 1
	}
	if run.Op == "read" && len(run.Names) == 0 {
		return DFSResult{Store: s.Name(), Op: run.Op, Size: run.Size, Concurrency: run.Concurrency,
			FirstError: "nothing to read: the write run stored nothing"}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), run.MaxTime)
	defer cancel()
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored []string
		ts     = make([]tally, run.Concurrency)
		start  = time.Now()
	)
	for w := range run.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &ts[w]
			var mine []string
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if run.MaxOps > 0 && i >= int64(run.MaxOps) {
					break
				}
				var name string
				if run.Op == "write" {
					name = fmt.Sprintf("%s-%d", run.Prefix, i)
				} else {
					name = run.Names[i%int64(len(run.Names))]
				}
				t0 := time.Now()
				n, err := dfsOp(ctx, c, s, run.Op, name, run.Size)
				if ctx.Err() != nil {
					break // cut by the deadline: neither success nor error
				}
				if err != nil {
					t.errors++
					if t.firstErr == "" {
						t.firstErr = err.Error()
					}
					continue
				}
				t.lat = append(t.lat, time.Since(t0))
				t.bytes += n
				if run.Op == "write" {
					mine = append(mine, name)
				}
			}
			mu.Lock()
			stored = append(stored, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(stored)
	return aggregate(s.Name(), run.Op, run.Size, run.Concurrency, time.Since(start), ts), stored
}

// dfsOp performs one write or read of name and returns the bytes moved.
func dfsOp(ctx context.Context, c *http.Client, s Store, op, name string, size int64) (int64, error) {
	var (
		req *http.Request
		err error
	)
	if op == "write" {
		req, err = s.WriteRequest(ctx, name, NewPattern(name, size), size)
	} else {
		req, err = s.ReadRequest(ctx, name)
	}
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if op == "write" {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if !s.WriteOK(resp.StatusCode) {
			return 0, fmt.Errorf("write %s: %s: %s", name, resp.Status, strings.TrimSpace(string(msg)))
		}
		return size, nil
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("read %s: %s: %s", name, resp.Status, strings.TrimSpace(string(msg)))
	}
	v := NewVerifier(name)
	n, err := io.Copy(v, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read %s: after %d bytes: %w", name, n, err)
	}
	if err := v.Check(size); err != nil {
		return n, fmt.Errorf("read %s: %w", name, err)
	}
	return n, nil
}

// DFSTable renders results as a markdown table; rows with errors are
// followed by their first error.
func DFSTable(rs []DFSResult) string {
	var b strings.Builder
	b.WriteString("| store | operation | size | concurrency | ops/s | MB/s | p50 | p99 | ok | errors |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var notes []string
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %.1f | %s | %s | %d | %d |\n", r.Store, r.Op, SizeString(r.Size), r.Concurrency,
			rate(r.PerSecond()), r.MBPerSecond(), roundLatency(r.P50), roundLatency(r.P99), r.Ops, r.Errors)
		if r.FirstError != "" {
			notes = append(notes, fmt.Sprintf("- %s %s %s c=%d: %s", r.Store, r.Op, SizeString(r.Size), r.Concurrency, r.FirstError))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nFirst error of each row with errors:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// rate shows an operation rate: whole numbers, one decimal below 10.
func rate(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// SizeString shows a byte count in the largest binary unit that divides it.
func SizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// ParseSize reads a byte count: a number with an optional KiB, MiB or GiB
// suffix (K, M, G accepted too).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != s {
		return 0, errors.New("want a positive byte count such as 4096, 4KiB or 64MiB")
	}
	return n * mult, nil
}
