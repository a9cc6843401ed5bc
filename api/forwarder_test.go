package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestForwardWireRoundTrip(t *testing.T) {
	reqs := []*fwdRequest{
		{Method: "POST", URI: "/register", ContentType: "application/json", Body: []byte(`{"name":"a"}`)},
		{Method: "DELETE", URI: "/instance/x?y=1"},
	}
	got, err := decodeRequests(encodeRequests(reqs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].URI != "/register" || string(got[0].Body) != `{"name":"a"}` || got[1].Method != "DELETE" || len(got[1].Body) != 0 {
		t.Fatalf("round trip changed the requests: %+v %+v", got[0], got[1])
	}
	resps := []fwdResponse{
		{Status: 201, ContentType: "application/json", Index: "7", Served: "n1", Body: []byte(`{"id":"x"}`)},
		{Status: 503, RetryAfter: "1", NotLeader: true},
	}
	back, err := decodeResponses(encodeResponses(resps), 2)
	if err != nil {
		t.Fatal(err)
	}
	if back[0].Status != 201 || back[0].Index != "7" || string(back[0].Body) != `{"id":"x"}` || back[0].NotLeader ||
		!back[1].NotLeader || back[1].RetryAfter != "1" {
		t.Fatalf("round trip changed the answers: %+v", back)
	}
}

func TestForwardWireRejectsMalformedBatches(t *testing.T) {
	good := encodeRequests([]*fwdRequest{{Method: "POST", URI: "/register", Body: []byte("{}")}})
	over := append([]byte{wireVersion}, 0xff, 0x0f) // a count of 2047
	cases := map[string][]byte{
		"empty":          nil,
		"json":           []byte(`{"name":"web"}`),
		"cut short":      good[:len(good)-1],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"too many":       over,
	}
	for name, b := range cases {
		if _, err := decodeRequests(b); !errors.Is(err, errWire) {
			t.Errorf("%s: err %v, want errWire", name, err)
		}
	}
	answers := encodeResponses([]fwdResponse{{Status: 200}})
	if _, err := decodeResponses(answers, 2); !errors.Is(err, errWire) {
		t.Errorf("an answer count that differs from the batch: err %v", err)
	}
	bad := append([]byte{}, answers...)
	bad[len(bad)-2] = 7 // the not-leader flag
	if _, err := decodeResponses(bad, 1); !errors.Is(err, errWire) {
		t.Errorf("a bad flag: err %v", err)
	}
}

// fakeLeader answers ForwardPath: each write's answer echoes its body; it
// records the size of every batch, and can hold batches until released.
type fakeLeader struct {
	mu      sync.Mutex
	batches []int
	hold    chan struct{} // when non-nil, each batch waits for a receive
	arrived chan struct{}
}

func (l *fakeLeader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	reqs, err := decodeRequests(b)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.batches = append(l.batches, len(reqs))
	l.mu.Unlock()
	if l.arrived != nil {
		l.arrived <- struct{}{}
	}
	if l.hold != nil {
		<-l.hold
	}
	out := make([]fwdResponse, len(reqs))
	for i, q := range reqs {
		out[i] = fwdResponse{Status: 201, Body: q.Body}
	}
	_, _ = w.Write(encodeResponses(out))
}

func testForwarder(t *testing.T, inFlight int) *forwarder {
	f := newForwarder(&http.Client{Timeout: 5 * time.Second}, "me", 5*time.Second, inFlight)
	t.Cleanup(f.close)
	return f
}

// While the only batch allowed out is held, writes pile up and leave
// together; every caller gets the answer to its own write.
func TestForwarderBatchesWritesThatArriveWhileABatchIsOut(t *testing.T) {
	leader := &fakeLeader{hold: make(chan struct{}), arrived: make(chan struct{}, 16)}
	srv := httptest.NewServer(leader)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	f := testForwarder(t, 1)

	type result struct {
		sent, got string
		err       error
	}
	results := make(chan result, 6)
	send := func(body string) {
		r, err := f.do(context.Background(), addr, &fwdRequest{Method: "POST", URI: "/register", Body: []byte(body)})
		results <- result{body, string(r.Body), err}
	}
	go send("w0")
	<-leader.arrived // the first batch is out and held
	for _, b := range []string{"w1", "w2", "w3", "w4", "w5"} {
		go send(b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		q := f.queues[addr]
		f.mu.Unlock()
		if len(q.ch) == 4 { // the loop holds the fifth, waiting for the slot
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want 4", len(q.ch))
		}
		time.Sleep(time.Millisecond)
	}
	leader.hold <- struct{}{}
	<-leader.arrived
	leader.hold <- struct{}{}
	for range 6 {
		r := <-results
		if r.err != nil || r.got != r.sent {
			t.Fatalf("write %s: answer %q, err %v", r.sent, r.got, r.err)
		}
	}
	leader.mu.Lock()
	defer leader.mu.Unlock()
	if len(leader.batches) != 2 || leader.batches[0] != 1 || leader.batches[1] != 5 {
		t.Fatalf("batches %v, want [1 5]", leader.batches)
	}
}

// A leader that cannot be dialled never saw the write: the caller may
// retry it.
func TestForwarderDialFailureIsNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := testForwarder(t, 2)
	_, err = f.do(context.Background(), addr, &fwdRequest{Method: "POST", URI: "/register"})
	if !errors.Is(err, errNotSent) {
		t.Fatalf("err %v, want errNotSent", err)
	}
}

// A batch the leader refuses as a whole is an error for every write in it,
// not a retry.
func TestForwarderPassesOnARefusedBatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer srv.Close()
	f := testForwarder(t, 2)
	_, err := f.do(context.Background(), strings.TrimPrefix(srv.URL, "http://"), &fwdRequest{Method: "POST", URI: "/register"})
	if !errors.Is(err, ErrForward) || errors.Is(err, errNotSent) {
		t.Fatalf("err %v, want ErrForward", err)
	}
}

// A caller that gives up while its write is still queued gets errNotSent,
// and the write is never sent.
func TestForwarderDropsWritesAbandonedBeforeTheyLeave(t *testing.T) {
	leader := &fakeLeader{hold: make(chan struct{}), arrived: make(chan struct{}, 4)}
	srv := httptest.NewServer(leader)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	f := testForwarder(t, 1)
	first := make(chan error, 1)
	go func() {
		_, err := f.do(context.Background(), addr, &fwdRequest{Method: "POST", URI: "/register", Body: []byte("first")})
		first <- err
	}()
	<-leader.arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.do(ctx, addr, &fwdRequest{Method: "POST", URI: "/register", Body: []byte("abandoned")})
	if !errors.Is(err, errNotSent) {
		t.Fatalf("err %v, want errNotSent", err)
	}
	leader.hold <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// A later write goes out alone: the abandoned one was dropped.
	go func() { leader.hold <- struct{}{} }()
	if _, err := f.do(context.Background(), addr, &fwdRequest{Method: "POST", URI: "/register", Body: []byte("later")}); err != nil {
		t.Fatal(err)
	}
	leader.mu.Lock()
	defer leader.mu.Unlock()
	if len(leader.batches) != 2 || leader.batches[1] != 1 {
		t.Fatalf("batches %v, want [1 1]", leader.batches)
	}
}

// Writes sent from the fast path keep a queue alive; a queue nobody uses
// for the idle time is retired.
func TestForwarderRetiresOnlyIdleQueues(t *testing.T) {
	leader := &fakeLeader{}
	srv := httptest.NewServer(leader)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	f := testForwarder(t, 4)
	f.idle = 100 * time.Millisecond
	queue := func() *fwdQueue {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.queues[addr]
	}
	if _, err := f.do(context.Background(), addr, &fwdRequest{Method: "POST", URI: "/register"}); err != nil {
		t.Fatal(err)
	}
	first := queue()
	for end := time.Now().Add(3 * f.idle); time.Now().Before(end); {
		if _, err := f.do(context.Background(), addr, &fwdRequest{Method: "POST", URI: "/register"}); err != nil {
			t.Fatal(err)
		}
		if q := queue(); q != first {
			t.Fatal("a queue in use was retired as idle")
		}
		time.Sleep(10 * time.Millisecond) // pace the writes: the loop must see time pass
	}
	deadline := time.Now().Add(5 * time.Second)
	for queue() != nil {
		if time.Now().After(deadline) {
			t.Fatal("an unused queue was never retired")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
