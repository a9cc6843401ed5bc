package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

// limitedAgent starts one agent with the given api limits.
func limitedAgent(t *testing.T, set func(c *agent.Config)) (*agenttest.Cluster, string) {
	t.Helper()
	c, err := agenttest.Start(1, agenttest.Options{Configure: func(_ int, cfg *agent.Config) { set(cfg) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c, c.URL(0)
}

// openStream opens GET /events and returns once the agent answered 200.
func openStream(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	return resp
}

func TestWatchersBeyondTheLimitGet429(t *testing.T) {
	c, url := limitedAgent(t, func(cfg *agent.Config) { cfg.API.Limits.MaxWatchers = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// One event stream and one blocking query fill the two places.
	stream := openStream(t, ctx, url)
	blockCtx, unblock := context.WithCancel(ctx)
	blocked := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(blockCtx, http.MethodGet, url+"/service/web?index=1000&wait=30s", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			blocked <- -1
			return
		}
		resp.Body.Close()
		blocked <- resp.StatusCode
	}()
	agenttest.WaitFor(t, "two watchers", 5*time.Second, func() bool { return c.Agents[0].API().Watchers() == 2 })

	for _, path := range []string{"/service/web?index=1000&wait=30s", "/events"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" ||
			!strings.Contains(body["error"], "--max-watchers") {
			t.Fatalf("%s: %d Retry-After %q %v", path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	// A lookup that does not block holds no place and is served.
	resp, err := http.Get(url + "/service/web")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("plain lookup: %d, want 404 (no such service)", resp.StatusCode)
	}

	// Every way out gives the place back: a client gone, a stream closed.
	unblock()
	<-blocked
	stream.Body.Close()
	agenttest.WaitFor(t, "no watchers", 5*time.Second, func() bool { return c.Agents[0].API().Watchers() == 0 })
	resp, err = http.Get(url + "/service/web?index=1&wait=10ms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("blocking lookup after release: %d", resp.StatusCode)
	}
	agenttest.WaitFor(t, "no watchers", 5*time.Second, func() bool { return c.Agents[0].API().Watchers() == 0 })
}

// The write timeout cuts a client that stops reading, never a blocking
// query or an event stream that outlives it.
func TestLongLivedAnswersOutliveTheWriteTimeout(t *testing.T) {
	_, url := limitedAgent(t, func(cfg *agent.Config) { cfg.API.Limits.WriteTimeout = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := openStream(t, ctx, url)
	defer stream.Body.Close()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	// The blocking query answers after its wait, four write timeouts.
	start := time.Now()
	resp, err := http.Get(url + "/service/web?index=1000&wait=800ms")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || time.Since(start) < 700*time.Millisecond {
		t.Fatalf("blocking query: %d after %s: %s", resp.StatusCode, time.Since(start), b)
	}

	// By now the stream has been open for longer than the write timeout
	// too; it still delivers.
	post(t, url+"/register", map[string]string{"name": "late", "address": "10.0.0.1:80", "version": "1.0.0"})
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream was cut")
			}
			if l == "event: registered" {
				return
			}
		case <-ctx.Done():
			t.Fatal("no event after the write timeout")
		}
	}
}
