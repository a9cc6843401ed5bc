package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHTTPConfigValidateNamesTheFlag(t *testing.T) {
	for flag, change := range map[string]func(*HTTPConfig){
		"--http-read-header-timeout": func(c *HTTPConfig) { c.ReadHeaderTimeout = 0 },
		"--http-read-timeout":        func(c *HTTPConfig) { c.ReadTimeout = -time.Second },
		"--http-idle-timeout":        func(c *HTTPConfig) { c.IdleTimeout = 0 },
		"--max-header-bytes":         func(c *HTTPConfig) { c.MaxHeaderBytes = 100 },
		"--max-connections":          func(c *HTTPConfig) { c.MaxConnections = -1 },
	} {
		c := DefaultHTTPConfig()
		change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("error %v does not name %s", err, flag)
		}
	}
	if err := DefaultHTTPConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.API.Limits.MaxWatchers = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--max-watchers") {
		t.Fatalf("the agent's Validate must check the api's limits: %v", err)
	}
}

// serve runs a server with the given bounds on loopback and returns its
// address; it is closed with the test.
func serve(t *testing.T, c HTTPConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), c)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(limitConns(ln, c.MaxConnections)) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

// halfSent opens a connection and sends a request's first line only.
func halfSent(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /alive HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

func get(addr string) (*http.Response, []byte, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestSlowHeadersAreCutAfterTheReadHeaderTimeout(t *testing.T) {
	c := DefaultHTTPConfig()
	c.ReadHeaderTimeout = 200 * time.Millisecond
	addr := serve(t, c)
	conn := halfSent(t, addr)
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err := io.ReadAll(conn) // returns when the agent closes it
	if err != nil {
		t.Fatalf("the agent did not close the connection: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("closed after %s", took)
	}
}

func TestConnectionsBeyondTheLimitAreRefusedNotQueued(t *testing.T) {
	c := DefaultHTTPConfig()
	c.MaxConnections = 3
	addr := serve(t, c)
	var held []net.Conn
	for range 3 {
		held = append(held, halfSent(t, addr))
	}
	defer func() {
		for _, h := range held {
			h.Close()
		}
	}()
	// The fourth is answered at once, in the api's error shape, as an
	// answer an HTTP client takes (not an unsolicited one it drops).
	resp, body, err := get(addr)
	if err != nil {
		t.Fatalf("no answer beyond the limit: %v", err)
	}
	var e map[string]string
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
		json.Unmarshal(body, &e) != nil || !strings.Contains(e["error"], "--max-connections") {
		t.Fatalf("beyond the limit: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// A closed connection gives its place back.
	held[0].Close()
	held = held[1:]
	if err := pollUntil(5*time.Second, func() error {
		resp, body, err := get(addr)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		return nil
	}); err != nil {
		t.Fatalf("after a close: %v", err)
	}
}

func TestLimitListenerCountsEachConnectionOnce(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitConns(raw, 2).(*limitListener)
	defer l.Close()
	for range 2 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if l.Open() != 2 {
		t.Fatalf("open %d", l.Open())
	}
	a.Close()
	a.Close() // net/http may close twice; the place is given back once
	if l.Open() != 1 {
		t.Fatalf("open %d after closing one twice", l.Open())
	}
	b.Close()
	if l.Open() != 0 {
		t.Fatalf("open %d", l.Open())
	}
	if limitConns(raw, 0) != raw {
		t.Fatal("0 must mean no limit")
	}
}

// pollUntil calls cond until it succeeds or the timeout passes.
func pollUntil(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
