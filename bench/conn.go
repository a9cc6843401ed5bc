package bench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Conn is one load worker's keep-alive HTTP/1.1 connection. It writes
// requests and reads answers in the worker's own goroutine, as wrk does:
// net/http's client hands every request to per-connection reader and
// writer goroutines, which on a 2-core machine shared with three agents
// costs the measured agents CPU.
type Conn struct {
	addr     string
	deadline time.Time
	c        net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	body     []byte
}

// Dial prepares a connection to base (http://host:port); it connects on
// first use and again after an error. Every operation ends by deadline.
func Dial(base string, within time.Duration) *Conn {
	return &Conn{addr: strings.TrimPrefix(base, "http://"), deadline: time.Now().Add(within)}
}

// Do sends one request and reads the whole answer; it returns the status,
// or 0 when the connection failed (it is then closed, and redialled by the
// next call).
func (k *Conn) Do(method, path string, body []byte) int {
	if k.c == nil {
		c, err := net.DialTimeout("tcp", k.addr, 2*time.Second)
		if err != nil {
			return 0
		}
		_ = c.SetDeadline(k.deadline)
		k.c, k.r, k.w = c, bufio.NewReaderSize(c, 16<<10), bufio.NewWriterSize(c, 4<<10)
	}
	w := k.w
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(k.addr)
	if body != nil {
		w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
	}
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		k.Close()
		return 0
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		k.Close()
		return 0
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		k.Close()
	}
	return resp.StatusCode
}

// Close drops the connection.
func (k *Conn) Close() {
	if k.c != nil {
		_ = k.c.Close()
		k.c = nil
	}
}
