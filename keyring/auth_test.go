package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func keys(t *testing.T, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for range n {
		k, err := Parse(mustGenerate(t))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k[0])
	}
	return out
}

func newRequest(method, uri, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return httptest.NewRequest(method, "http://agent"+uri, r)
}

// signed returns a request signed by s at its clock.
func signed(t *testing.T, s *Signer, method, uri, body string) *http.Request {
	t.Helper()
	r := newRequest(method, uri, body)
	if err := s.Sign(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerify(t *testing.T) {
	k := keys(t, 3)
	cur, old, other := k[0], k[1], k[2]
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }
	signer := func(key []byte, d time.Duration) *Signer {
		s := NewSigner([][]byte{key})
		s.now = at(d)
		return s
	}
	tests := []struct {
		name    string
		req     func() *http.Request
		verKeys [][]byte
		want    error
	}{
		{"round trip", func() *http.Request { return signed(t, signer(cur, 0), "POST", "/internal/apply", `{"a":1}`) }, [][]byte{cur}, nil},
		{"no body", func() *http.Request { return signed(t, signer(cur, 0), "GET", "/internal/read-index", "") }, [][]byte{cur}, nil},
		{"query is signed too", func() *http.Request { return signed(t, signer(cur, 0), "GET", "/admin/raft?x=1", "") }, [][]byte{cur}, nil},
		{"rotation: old key accepted by [new, old]", func() *http.Request { return signed(t, signer(old, 0), "POST", "/internal/apply", "x") }, [][]byte{cur, old}, nil},
		{"rotation: new key accepted by [old, new]", func() *http.Request { return signed(t, signer(cur, 0), "POST", "/internal/apply", "x") }, [][]byte{old, cur}, nil},
		{"wrong key", func() *http.Request { return signed(t, signer(other, 0), "POST", "/internal/apply", "x") }, [][]byte{cur, old}, ErrBadSignature},
		{"no header", func() *http.Request { return newRequest("POST", "/internal/apply", "x") }, [][]byte{cur}, ErrMissing},
		{"malformed: two parts", func() *http.Request {
			r := newRequest("GET", "/internal/read-index", "")
			r.Header.Set(Header, "123.abc")
			return r
		}, [][]byte{cur}, ErrMalformed},
		{"malformed: time", func() *http.Request {
			r := signed(t, signer(cur, 0), "GET", "/internal/read-index", "")
			r.Header.Set(Header, "x"+r.Header.Get(Header))
			return r
		}, [][]byte{cur}, ErrMalformed},
		{"malformed: short signature", func() *http.Request {
			r := signed(t, signer(cur, 0), "GET", "/internal/read-index", "")
			r.Header.Set(Header, r.Header.Get(Header)[:len(r.Header.Get(Header))-2])
			return r
		}, [][]byte{cur}, ErrMalformed},
		{"stale", func() *http.Request { return signed(t, signer(cur, -6*time.Second), "GET", "/internal/read-index", "") }, [][]byte{cur}, ErrStale},
		{"from the future", func() *http.Request { return signed(t, signer(cur, 6*time.Second), "GET", "/internal/read-index", "") }, [][]byte{cur}, ErrFuture},
		{"inside the window", func() *http.Request { return signed(t, signer(cur, -4*time.Second), "GET", "/internal/read-index", "") }, [][]byte{cur}, nil},
		{"tampered body", func() *http.Request {
			r := signed(t, signer(cur, 0), "POST", "/internal/apply", `{"a":1}`)
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			return r
		}, [][]byte{cur}, ErrBadSignature},
		{"sent to another agent (host)", func() *http.Request {
			r := signed(t, signer(cur, 0), "POST", "/internal/apply", "x")
			r.Host = "127.0.0.1:9999"
			return r
		}, [][]byte{cur}, ErrBadSignature},
		{"tampered path", func() *http.Request {
			r := signed(t, signer(cur, 0), "POST", "/internal/apply", "x")
			r.URL.Path = "/internal/forward"
			return r
		}, [][]byte{cur}, ErrBadSignature},
		{"tampered query", func() *http.Request {
			r := signed(t, signer(cur, 0), "GET", "/admin/raft?x=1", "")
			r.URL.RawQuery = "x=2"
			return r
		}, [][]byte{cur}, ErrBadSignature},
		{"tampered method", func() *http.Request {
			r := signed(t, signer(cur, 0), "POST", "/admin/leave", "")
			r.Method = "DELETE"
			return r
		}, [][]byte{cur}, ErrBadSignature},
		{"tampered time", func() *http.Request {
			r := signed(t, signer(cur, 0), "GET", "/internal/read-index", "")
			h := r.Header.Get(Header)
			r.Header.Set(Header, "1800000001000000000"+h[strings.Index(h, "."):])
			return r
		}, [][]byte{cur}, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(tt.verKeys, VerifierConfig{Now: at(0)})
			r := tt.req()
			err := v.Verify(r)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err == nil && r.Body != nil {
				// The handler still reads the whole body.
				b, _ := io.ReadAll(r.Body)
				want := ""
				if r.Method == "POST" {
					want = map[bool]string{true: `{"a":1}`, false: "x"}[strings.Contains(tt.name, "round")]
				}
				if string(b) != want {
					t.Fatalf("body after Verify = %q, want %q", b, want)
				}
			}
		})
	}
}

func TestReplayIsRefused(t *testing.T) {
	k := keys(t, 1)
	v := NewVerifier(k, VerifierConfig{})
	r := signed(t, NewSigner(k), "POST", "/internal/apply", "x")
	h := r.Header.Get(Header)
	if err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	again := newRequest("POST", "/internal/apply", "x")
	again.Header.Set(Header, h)
	if err := v.Verify(again); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v, want %v", err, ErrReplayed)
	}
	// Two requests alike in all but their nonce are both accepted.
	if err := v.Verify(signed(t, NewSigner(k), "POST", "/internal/apply", "x")); err != nil {
		t.Fatal(err)
	}
}

func TestReplayCacheForgetsExpiredAndOldest(t *testing.T) {
	c := newReplayCache(2)
	now := time.Unix(0, 0)
	sig := func(b byte) [32]byte { return [32]byte{b} }
	if !c.add(sig(1), now, time.Second) || c.add(sig(1), now, time.Second) {
		t.Fatal("a duplicate was not noticed")
	}
	if !c.add(sig(2), now, time.Second) || !c.add(sig(3), now, time.Second) {
		t.Fatal("new signatures refused")
	}
	if !c.add(sig(1), now, time.Second) {
		t.Fatal("the oldest signature was not dropped when full")
	}
	later := now.Add(2 * time.Second)
	if !c.add(sig(3), later, time.Second) || c.n != 1 {
		t.Fatalf("expired signatures were kept: %d entries", c.n)
	}
}

func TestNilSignerAndVerifierPassThrough(t *testing.T) {
	var s *Signer = NewSigner(nil)
	r := newRequest("GET", "/x", "")
	if err := s.Sign(r); err != nil || r.Header.Get(Header) != "" {
		t.Fatalf("a nil signer signed: %v", err)
	}
	if err := NewVerifier(nil, VerifierConfig{}).Verify(r); err != nil {
		t.Fatal(err)
	}
	if Transport(nil, http.DefaultTransport) != http.DefaultTransport {
		t.Fatal("no keys should leave the transport as it is")
	}
}

// TestTransportAndMiddleware runs a real client and server: the transport
// signs (bodies included, replayable through GetBody), the middleware
// accepts, marks the context, and refuses others with a JSON 401.
func TestTransportAndMiddleware(t *testing.T) {
	k := keys(t, 2)
	v := NewVerifier(k[:1], VerifierConfig{})
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !Authenticated(r.Context()) {
			t.Error("the handler's context is not marked authenticated")
		}
		_, _ = w.Write(b)
	})))
	defer srv.Close()

	good := &http.Client{Transport: Transport(k[:1], nil)}
	resp, err := good.Post(srv.URL+"/internal/apply", "application/json", bytes.NewReader([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "hello" {
		t.Fatalf("signed request: %d %s", resp.StatusCode, b)
	}

	for name, c := range map[string]*http.Client{
		"unsigned":  http.DefaultClient,
		"other key": {Transport: Transport(k[1:], nil)},
	} {
		resp, err := c.Post(srv.URL+"/internal/apply", "application/json", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || err != nil || body.Error == "" {
			t.Fatalf("%s: %d %+v %v, want 401 with an error", name, resp.StatusCode, body, err)
		}
	}
}

func TestMiddlewareRefusesOversizedBodies(t *testing.T) {
	k := keys(t, 1)
	v := NewVerifier(k, VerifierConfig{MaxBody: 4})
	r := signed(t, NewSigner(k), "POST", "/internal/apply", "too long")
	rec := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(rec, r)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", rec.Code)
	}
}
