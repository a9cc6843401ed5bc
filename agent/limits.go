package agent

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodes/custodes/api"
)

// API is the agent's HTTP layer (tests read its counters).
func (a *Agent) API() *api.Server { return a.api }

// HTTPConfig bounds the agent's HTTP server, so that clients that send
// slowly, never finish a request or hold connections open cannot take it
// away from everyone else. The write timeout and the limits on watchers
// and writes are the api's (api.Limits): they depend on the route.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers; a slow-loris
	// client sending them byte by byte is cut off after it.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (bodies
	// are at most 1 MiB). Once the body is read net/http clears the read
	// deadline, so long-lived answers are not cut by it.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle for this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers; net/http answers 431
	// beyond it, in its own plain-text body.
	MaxHeaderBytes int
	// MaxConnections bounds the connections open at once; one more is
	// accepted, answered 503 and closed, so Accept never stalls and the
	// file descriptors stay bounded. 0 means unlimited.
	MaxConnections int
}

// DefaultHTTPConfig returns bounds that normal use never meets.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxConnections:    16384,
	}
}

// Validate checks the bounds; errors name the flag that sets each.
func (c HTTPConfig) Validate() error {
	switch {
	case c.ReadHeaderTimeout <= 0:
		return fmt.Errorf("--http-read-header-timeout %s: must be positive", c.ReadHeaderTimeout)
	case c.ReadTimeout <= 0:
		return fmt.Errorf("--http-read-timeout %s: must be positive", c.ReadTimeout)
	case c.IdleTimeout <= 0:
		return fmt.Errorf("--http-idle-timeout %s: must be positive", c.IdleTimeout)
	case c.MaxHeaderBytes < 4<<10:
		return fmt.Errorf("--max-header-bytes %d: must be at least 4096", c.MaxHeaderBytes)
	case c.MaxConnections < 0:
		return fmt.Errorf("--max-connections %d: must be 0 (unlimited) or more", c.MaxConnections)
	}
	return nil
}

// newHTTPServer builds the agent's server. It sets no WriteTimeout: the
// api sets each answer's write deadline itself, and the long-lived ones
// (blocking queries, event streams) extend theirs (api.Limits).
func newHTTPServer(h http.Handler, c HTTPConfig) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
}

// refusal is what a connection beyond MaxConnections receives: a whole
// HTTP answer in the api's {"error"} shape, then the connection closes.
const refusal = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: application/json\r\n" +
	"Retry-After: 1\r\n" +
	"Connection: close\r\n" +
	"Content-Length: %d\r\n\r\n%s"

// maxRefusing bounds the refused connections being answered at once;
// beyond it they are closed without an answer.
const maxRefusing = 64

// limitListener accepts every connection at once and refuses, rather
// than queues, those beyond max: a blocked Accept would let a few
// thousand idle connections keep every other client waiting.
type limitListener struct {
	net.Listener
	max      int64
	open     atomic.Int64
	refusing chan struct{}
	answer   []byte
}

// limitConns wraps ln; max 0 returns ln as it is.
func limitConns(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	body := fmt.Sprintf(`{"error":"too many connections to this agent (the limit, --max-connections, is %d); retry shortly"}`, max)
	return &limitListener{
		Listener: ln,
		max:      int64(max),
		refusing: make(chan struct{}, maxRefusing),
		answer:   fmt.Appendf(nil, refusal, len(body), body),
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &countedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.refuse(c)
	}
}

// refuseWait bounds how long a refused connection is kept: its request's
// head is awaited this long before the answer is written.
const refuseWait = 500 * time.Millisecond

// refuse answers 503 and closes c, off the accept loop. The answer is
// written after the request's head (or refuseWait): an HTTP client that
// receives an answer before it sent its request drops it as unsolicited.
// What the client sends is read before closing, since closing with unread
// data makes the kernel send a reset that can destroy the answer.
func (l *limitListener) refuse(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(refuseWait))
		readHead(c)
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(l.answer); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// readHead reads from c until the blank line that ends a request's head,
// 8 KiB, or an error (the deadline).
func readHead(c net.Conn) {
	var head []byte
	buf := make([]byte, 1024)
	for len(head) < 8<<10 {
		n, err := c.Read(buf)
		head = append(head, buf[:n]...)
		if bytes.Contains(head, []byte("\r\n\r\n")) || err != nil {
			return
		}
	}
}

// Open is the number of connections counted against the limit.
func (l *limitListener) Open() int { return int(l.open.Load()) }

// countedConn gives its place back once, however often it is closed.
type countedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
