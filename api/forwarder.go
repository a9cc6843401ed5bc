package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// forwarder carries a follower's writes to the leader in batches: one
// queue per leader address; its loop sends whatever piled up while the
// batches already in flight were out, so under load many writes share one
// HTTP round trip (and its syscalls on both agents), while a lone write
// leaves at once. The leader proposes a batch's writes concurrently, so
// Raft appends them together too.
type forwarder struct {
	client   *http.Client
	from     string // this agent's id, sent as headerForwarded
	timeout  time.Duration
	inFlight int // batches out at once per leader
	idle     time.Duration

	mu     sync.Mutex
	queues map[string]*fwdQueue
	closed bool
}

// errNotSent: the write never left this agent (the leader could not be
// dialled, or the caller gave up before its batch went out); it may be
// retried.
var errNotSent = errors.New("write not sent to the leader")

const (
	callQueued int32 = iota
	callTaken
	callAbandoned
)

type fwdCall struct {
	req   *fwdRequest
	state atomic.Int32
	done  chan struct{}
	resp  fwdResponse
	err   error
}

type fwdQueue struct {
	addr string
	ch   chan *fwdCall
	sem  chan struct{}
	next *fwdCall // taken from ch but left for the next batch (size cap); only the loop touches it
	// used is when do last saw this queue (unix nanoseconds): writes sent
	// from do's fast path never reach the loop, and must not let it
	// retire the queue as idle.
	used atomic.Int64
}

func newForwarder(client *http.Client, from string, timeout time.Duration, inFlight int) *forwarder {
	return &forwarder{client: client, from: from, timeout: timeout, inFlight: inFlight, idle: time.Minute, queues: map[string]*fwdQueue{}}
}

// do sends req to the leader at addr and waits for its answer. An error
// wrapping errNotSent means the write certainly did not happen.
func (f *forwarder) do(ctx context.Context, addr string, req *fwdRequest) (fwdResponse, error) {
	call := &fwdCall{req: req, done: make(chan struct{})}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return fwdResponse{}, fmt.Errorf("%w: agent shutting down", errNotSent)
	}
	q := f.queues[addr]
	if q == nil {
		q = &fwdQueue{addr: addr, ch: make(chan *fwdCall, 4*maxBatchWrites), sem: make(chan struct{}, f.inFlight)}
		f.queues[addr] = q
		go f.run(q)
	}
	q.used.Store(time.Now().UnixNano())
	if len(q.ch) == 0 {
		// Nothing waits and a slot is free: send from here, sparing the
		// hand-offs to the queue's goroutines. (A write the loop already
		// holds is blocked sending on sem, so it gets the next free slot
		// before any caller here.)
		select {
		case q.sem <- struct{}{}:
			call.state.Store(callTaken)
			f.mu.Unlock()
			f.send(ctx, q.addr, []*fwdCall{call})
			<-q.sem
			return call.resp, call.err
		default:
		}
	}
	select {
	case q.ch <- call:
	default:
		f.mu.Unlock()
		return fwdResponse{}, fmt.Errorf("%w: forwarding queue full", errNotSent)
	}
	f.mu.Unlock()
	select {
	case <-call.done:
		return call.resp, call.err
	case <-ctx.Done():
		if call.state.CompareAndSwap(callQueued, callAbandoned) {
			return fwdResponse{}, fmt.Errorf("%w: %v", errNotSent, ctx.Err())
		}
		return fwdResponse{}, fmt.Errorf("%w: %v; the write may or may not have been applied", ErrForward, ctx.Err())
	}
}

// close refuses new writes; each loop sends what is already queued, then
// leaves.
func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed = true
	for _, q := range f.queues {
		close(q.ch)
	}
}

// run is one leader address's loop. It leaves when closed, or after a
// minute without writes (the leader moved).
func (f *forwarder) run(q *fwdQueue) {
	idle := time.NewTimer(f.idle)
	defer idle.Stop()
	for {
		var first *fwdCall
		if q.next != nil {
			first, q.next = q.next, nil
		} else {
			select {
			case c, ok := <-q.ch:
				if !ok {
					return
				}
				first = c
			case <-idle.C:
				f.mu.Lock()
				quiet := time.Since(time.Unix(0, q.used.Load()))
				if len(q.ch) == 0 && !f.closed && quiet >= f.idle {
					delete(f.queues, q.addr)
					f.mu.Unlock()
					return
				}
				f.mu.Unlock()
				idle.Reset(max(f.idle-quiet, time.Millisecond))
				continue
			}
		}
		// Wait for a free slot: writes arriving meanwhile join this batch.
		q.sem <- struct{}{}
		batch := q.collect(first)
		if len(batch) == 0 {
			<-q.sem
			continue
		}
		go func() {
			defer func() { <-q.sem }()
			f.send(context.Background(), q.addr, batch)
		}()
		idle.Reset(f.idle)
	}
}

// collect takes first and whatever else is queued, within the batch
// limits, skipping writes whose callers gave up.
func (q *fwdQueue) collect(first *fwdCall) []*fwdCall {
	var batch []*fwdCall
	size := 0
	take := func(c *fwdCall) bool {
		if len(batch) > 0 && (len(batch) >= maxBatchWrites || size+c.req.size() > maxBatchBytes) {
			q.next = c
			return false
		}
		if c.state.CompareAndSwap(callQueued, callTaken) {
			batch = append(batch, c)
			size += c.req.size()
		}
		return true
	}
	if !take(first) {
		return batch
	}
	for {
		select {
		case c, ok := <-q.ch:
			if !ok || !take(c) {
				return batch
			}
		default:
			return batch
		}
	}
}

// send posts one batch and hands every caller its answer. ctx is the
// caller's for a write sent alone from do, else a background context.
func (f *forwarder) send(ctx context.Context, addr string, batch []*fwdCall) {
	finish := func(i int, resp fwdResponse, err error) {
		batch[i].resp, batch[i].err = resp, err
		close(batch[i].done)
	}
	failAll := func(err error) {
		for i := range batch {
			finish(i, fwdResponse{}, err)
		}
	}
	reqs := make([]*fwdRequest, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+ForwardPath, bytes.NewReader(encodeRequests(reqs)))
	if err != nil {
		failAll(fmt.Errorf("%w: %v", errNotSent, err))
		return
	}
	out.Header.Set("Content-Type", "application/octet-stream")
	out.Header.Set(headerForwarded, f.from)
	resp, err := f.client.Do(out)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			failAll(fmt.Errorf("%w: leader %s: %v", errNotSent, addr, err))
			return
		}
		failAll(fmt.Errorf("%w: leader %s: %v; the write may or may not have been applied", ErrForward, addr, err))
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchBody+int64(len(batch))*MaxBodyBytes))
	if err != nil {
		failAll(fmt.Errorf("%w: leader %s: reading the answer: %v; the writes may or may not have been applied", ErrForward, addr, err))
		return
	}
	if resp.StatusCode != http.StatusOK {
		// The leader refuses a batch as a whole before it runs any of it.
		failAll(fmt.Errorf("%w: leader %s refused the batch: %s: %s", ErrForward, addr, statusText(resp.StatusCode), bytes.TrimSpace(body)))
		return
	}
	answers, err := decodeResponses(body, len(batch))
	if err != nil {
		failAll(fmt.Errorf("%w: leader %s: %v; the writes may or may not have been applied", ErrForward, addr, err))
		return
	}
	for i := range batch {
		finish(i, answers[i], nil)
	}
}

// forwardBatch handles ForwardPath on the leader: it runs every write of a
// follower's batch through the router, as if the follower had sent each
// alone (so each still passes forwardWrites and answers "not leader" when
// this agent lost leadership), all at once, and returns the answers in
// order.
func (s *Server) forwardBatch(c echo.Context) error {
	r := c.Request()
	body, err := readBodyUpTo(c.Response(), r, maxBatchBody)
	if err != nil {
		return err
	}
	reqs, err := decodeRequests(body)
	if err != nil {
		return invalidf("%v", err)
	}
	from := r.Header.Get(headerForwarded)
	if from == "" {
		from = "unknown"
	}
	answers := make([]fwdResponse, len(reqs))
	var wg sync.WaitGroup
	for i, fr := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = s.serveForwarded(r.Context(), from, fr)
		}()
	}
	wg.Wait()
	return c.Blob(http.StatusOK, "application/octet-stream", encodeResponses(answers))
}

// serveForwarded runs one forwarded write through the router.
func (s *Server) serveForwarded(ctx context.Context, from string, fr *fwdRequest) fwdResponse {
	u, err := url.ParseRequestURI(fr.URI)
	if err != nil || strings.HasPrefix(u.Path, "/internal/") {
		// Internal calls are never forwarded: refuse rather than recurse.
		return fwdResponse{Status: http.StatusBadRequest, ContentType: echo.MIMEApplicationJSON,
			Body: fmt.Appendf(nil, `{"error":%q}`, "cannot forward "+fr.URI)}
	}
	req := (&http.Request{
		Method: fr.Method, URL: u, RequestURI: fr.URI, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(fr.Body)), ContentLength: int64(len(fr.Body)),
		Host: u.Host, RemoteAddr: from,
	}).WithContext(ctx)
	if fr.ContentType != "" {
		req.Header.Set("Content-Type", fr.ContentType)
	}
	req.Header.Set(headerForwarded, from)
	rec := &recorder{header: http.Header{}}
	s.e.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	h := rec.header
	return fwdResponse{
		Status: rec.status, ContentType: h.Get("Content-Type"), RetryAfter: h.Get("Retry-After"),
		Index: h.Get(HeaderIndex), Served: h.Get(HeaderServedBy), NotLeader: h.Get(headerNotLeader) != "",
		Body: rec.body.Bytes(),
	}
}

// recorder is the ResponseWriter a forwarded write is answered into.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
