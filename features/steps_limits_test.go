package features

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
)

// maxLoris bounds the half-sent requests a scenario may hold.
const maxLoris = 1000

// loris is a set of connections each holding a request whose headers
// never end.
type loris struct {
	conns []net.Conn
}

func (l *loris) close() {
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

// halfSend opens a connection to addr and sends the start of a request.
func halfSend(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET /service/web HTTP/1.1\r\nHost: custodes\r\nX-Slow: "); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// holdLoris opens n half-sent requests to agent who, closed when the
// scenario ends.
func (w *world) holdLoris(n int, who string) error {
	if n > maxLoris {
		return fmt.Errorf("at most %d half-sent requests", maxLoris)
	}
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	l := w.loris()
	addr := w.c.Agents[i].HTTPAddr()
	for range n {
		c, err := halfSend(addr)
		if err != nil {
			return fmt.Errorf("after %d half-sent requests: %w", len(l.conns), err)
		}
		l.conns = append(l.conns, c)
	}
	return nil
}

// loris returns the scenario's half-sent requests, creating the set (and
// its cleanup, so none outlives the scenario) on first use.
func (w *world) loris() *loris {
	if w.slow == nil {
		l := &loris{}
		w.slow = l
		w.cleanup = append(w.cleanup, func() { l.close(); w.slow = nil })
	}
	return w.slow
}

// holdBeyondLimit opens n half-sent requests to agent who, more than it
// allows: the agent answers those beyond its limit (after waiting a
// moment for the rest of their request) and closes them. The others are
// kept, and one refusal becomes the last answer.
func (w *world) holdBeyondLimit(n int, who string) error {
	if err := w.holdLoris(n, who); err != nil {
		return err
	}
	l := w.loris()
	answers := make([]*response, len(l.conns))
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Second)
	for k, c := range l.conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(deadline)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return // held: nothing came before the deadline
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers[k] = &response{status: resp.StatusCode, header: resp.Header, body: b}
		})
	}
	wg.Wait()
	var kept []net.Conn
	for k, c := range l.conns {
		if answers[k] == nil {
			_ = c.SetReadDeadline(time.Time{})
			kept = append(kept, c)
			continue
		}
		_ = c.Close()
		w.last = answers[k]
	}
	if len(kept) == len(l.conns) {
		return fmt.Errorf("all %d half-sent requests were held; none refused", n)
	}
	l.conns = kept
	return nil
}

// lorisOpen checks that every half-sent request is still held by the
// agent (a read finds nothing yet rather than the end).
func (w *world) lorisOpen() error {
	for i, c := range w.loris().conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return fmt.Errorf("half-sent request %d was already closed: %v", i+1, err)
		}
	}
	return nil
}

// lorisClosed waits until the agent closed every half-sent request.
func (w *world) lorisClosed(secs float64) error {
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for i, c := range w.loris().conns {
		_ = c.SetReadDeadline(deadline)
		if _, err := io.Copy(io.Discard, c); err != nil {
			return fmt.Errorf("half-sent request %d still open after %gs: %v", i+1, secs, err)
		}
	}
	return nil
}

// freshLookup looks a service up over a new connection, so that the
// agent must accept it while the others are held.
func (w *world) freshLookup(name, who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Get(w.c.URL(i) + "/service/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	w.asked = i
	w.last = &response{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(start)}
	return nil
}

// burst sends n registrations of distinct addresses to agent who, one
// after another, with the headers given for the next request (if any),
// and remembers how many were created and how many refused with 429.
func (w *world) burst(n int, who string) error {
	if n > 100 {
		return fmt.Errorf("at most 100 writes in a burst")
	}
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	ctx := w.withNextHeader(w.ctx)
	created, refused := 0, 0
	next, _ := strconv.Atoi(w.vars["burst.next"]) // addresses stay distinct over the scenario
	for k := range n {
		next++
		body, _ := json.Marshal(map[string]string{"name": "burst", "address": fmt.Sprintf("10.9.%d.%d:80", next/250, next%250+1), "version": "1.0.0"})
		r, err := w.do(ctx, i, http.MethodPost, "/register", bytes.NewReader(body))
		if err != nil {
			return err
		}
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
			refused++
			w.last = r
		default:
			return fmt.Errorf("write %d: %d %s", k+1, r.status, r.body)
		}
	}
	w.asked = i
	w.vars["burst.next"] = strconv.Itoa(next)
	w.vars["created"], w.vars["refused"] = strconv.Itoa(created), strconv.Itoa(refused)
	return nil
}

func (w *world) burstCounts(created, refused int) error {
	if got := w.vars["created"] + "/" + w.vars["refused"]; got != fmt.Sprintf("%d/%d", created, refused) {
		return fmt.Errorf("created/refused %s, want %d/%d", got, created, refused)
	}
	return nil
}

func (w *world) watchersOpen(n int, who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	return poll(5*time.Second, func() error {
		if got := w.c.Agents[i].API().Watchers(); got != n {
			return fmt.Errorf("%d watchers open, want %d", got, n)
		}
		return nil
	})
}

// limitedCluster starts a fresh cluster whose agents all get one limit.
func (w *world) limitedCluster(n int, what, value string) error {
	var set func(c *agent.Config)
	switch what {
	case "an HTTP read-header timeout of":
		d, err := time.ParseDuration(value)
		if err != nil {
			return err
		}
		set = func(c *agent.Config) { c.HTTP.ReadHeaderTimeout = d }
	case "at most this many watchers each:":
		v, err := strconv.Atoi(value)
		if err != nil {
			return err
		}
		set = func(c *agent.Config) { c.API.Limits.MaxWatchers = v }
	case "at most this many connections each:":
		v, err := strconv.Atoi(value)
		if err != nil {
			return err
		}
		set = func(c *agent.Config) { c.HTTP.MaxConnections = v }
	case "a write rate and burst of":
		rate, burst, ok := strings.Cut(value, "/")
		r, err1 := strconv.ParseFloat(rate, 64)
		b, err2 := strconv.Atoi(burst)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("say the rate and burst as RATE/BURST, not %q", value)
		}
		set = func(c *agent.Config) { c.API.Limits.WriteRate, c.API.Limits.WriteBurst = r, b }
	case "a snapshot limit in bytes of":
		b, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return err
		}
		set = func(c *agent.Config) { c.Cluster.MaxSnapshotBytes = b }
	default:
		return godog.ErrPending
	}
	return w.freshCluster(n, func(_ int, c *agent.Config) { set(c) })
}

func limitsSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^a fresh cluster of (\d+) agents with (an HTTP read-header timeout of|at most this many watchers each:|at most this many connections each:|a write rate and burst of|a snapshot limit in bytes of) (\S+)$`, w.limitedCluster)
	sc.Step(`^I hold (\d+) half-sent requests open to `+who+`$`, w.holdLoris)
	sc.Step(`^I open (\d+) half-sent requests to `+who+`, more than it allows$`, w.holdBeyondLimit)
	sc.Step(`^the half-sent requests are all still open$`, w.lorisOpen)
	sc.Step(`^the agent closes every half-sent request within ([\d.]+) seconds$`, w.lorisClosed)
	sc.Step(`^I close the half-sent requests$`, func() error { w.loris().close(); return nil })
	sc.Step(`^I look "([^"]*)" up on `+who+` over a new connection$`, func(name, who string) error { return w.freshLookup(name, who) })
	// A closed connection's place comes back once the agent has seen the
	// close, a moment later.
	sc.Step(`^looking "([^"]*)" up on `+who+` over a new connection answers (\d+) within ([\d.]+) seconds$`, func(name, who string, status int, secs float64) error {
		return poll(time.Duration(secs*float64(time.Second)), func() error {
			if err := w.freshLookup(name, who); err != nil {
				return err
			}
			if w.last.status != status {
				return fmt.Errorf("status %d, want %d: %s", w.last.status, status, w.last.body)
			}
			return nil
		})
	})
	sc.Step(`^I send (\d+) registrations one after another to `+who+`$`, w.burst)
	sc.Step(`^(\d+) were created and (\d+) refused with 429$`, w.burstCounts)
	sc.Step(`^`+who+` has (\d+) watchers open$`, func(who string, n int) error { return w.watchersOpen(n, who) })
}
