package keyring

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// onlyPUT allows streamed signatures on PUT /copies/... alone.
func onlyPUT(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/copies/")
}

func streamedRequest(s *Signer, method, uri, body string) *http.Request {
	r := newRequest(method, uri, body)
	s.SignStreamed(r)
	return r
}

func TestStreamedSignature(t *testing.T) {
	k := keys(t, 2)
	s := NewSigner(k[:1])
	allow := NewVerifier(k[:1], VerifierConfig{Streamed: onlyPUT})
	deny := NewVerifier(k[:1], VerifierConfig{})

	// Accepted where allowed, and the body is left unread for the handler.
	r := streamedRequest(s, "PUT", "/copies/a/1", "the bytes")
	if err := allow.Verify(r); err != nil {
		t.Fatalf("streamed PUT refused: %v", err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != "the bytes" {
		t.Fatalf("body after verify = %q", b)
	}
	// Any body verifies: the body is not covered.
	r = streamedRequest(s, "PUT", "/copies/a/1", "")
	r.Body = io.NopCloser(strings.NewReader("other bytes"))
	if err := allow.Verify(r); err != nil {
		t.Fatalf("streamed PUT with another body refused: %v", err)
	}

	// Refused where the predicate says no, and by a verifier without one.
	for _, c := range []struct {
		v      *Verifier
		method string
		uri    string
	}{{allow, "GET", "/copies/a/1"}, {allow, "PUT", "/inventory"}, {deny, "PUT", "/copies/a/1"}} {
		err := c.v.Verify(streamedRequest(s, c.method, c.uri, "x"))
		if !errors.Is(err, ErrStreamed) {
			t.Errorf("%s %s: err = %v, want ErrStreamed", c.method, c.uri, err)
		}
	}

	// Another key, or a changed URI, fails.
	other := NewSigner(k[1:])
	if err := allow.Verify(streamedRequest(other, "PUT", "/copies/a/1", "x")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: %v", err)
	}
	r = streamedRequest(s, "PUT", "/copies/a/1", "x")
	r.URL.Path = "/copies/a/2"
	r.RequestURI = "/copies/a/2"
	if err := allow.Verify(r); !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed URI: %v", err)
	}

	// Replays are refused as for normal signatures.
	r = streamedRequest(s, "PUT", "/copies/a/1", "x")
	h := r.Header.Get(Header)
	if err := allow.Verify(r); err != nil {
		t.Fatal(err)
	}
	r2 := newRequest("PUT", "/copies/a/1", "x")
	r2.Header.Set(Header, h)
	if err := allow.Verify(r2); !errors.Is(err, ErrReplayed) {
		t.Errorf("replay: %v", err)
	}
}

// A streamed signature never passes as a normal one and vice versa: the
// mark cannot be added to, or stripped from, a header value.
func TestStreamedAndNormalNeverCross(t *testing.T) {
	k := keys(t, 1)
	s := NewSigner(k)
	v := NewVerifier(k, VerifierConfig{Streamed: func(*http.Request) bool { return true }})

	// Normal signature + streamed mark: refused.
	r := signed(t, s, "PUT", "/copies/a/1", "")
	r.Header.Set(Header, r.Header.Get(Header)+"."+streamedMark)
	if err := v.Verify(r); !errors.Is(err, ErrBadSignature) {
		t.Errorf("normal signature marked streamed: %v", err)
	}
	// Streamed signature with the mark stripped: refused (even with an empty body).
	r = streamedRequest(s, "PUT", "/copies/a/1", "")
	h := r.Header.Get(Header)
	r.Header.Set(Header, strings.TrimSuffix(h, "."+streamedMark))
	if err := v.Verify(r); !errors.Is(err, ErrBadSignature) {
		t.Errorf("streamed signature unmarked: %v", err)
	}
	// A normal signature still verifies under a verifier that allows streaming.
	if err := v.Verify(signed(t, s, "PUT", "/copies/a/1", "body")); err != nil {
		t.Errorf("normal signature: %v", err)
	}
}

// The middleware answers 401 for a streamed signature where not allowed.
func TestStreamedMiddleware(t *testing.T) {
	k := keys(t, 1)
	s := NewSigner(k)
	h := NewVerifier(k, VerifierConfig{Streamed: onlyPUT}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, c := range []struct {
		method, uri string
		want        int
	}{{"PUT", "/copies/a/1", http.StatusNoContent}, {"POST", "/copies/a/1", http.StatusUnauthorized}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, streamedRequest(s, c.method, c.uri, "x"))
		if w.Code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.uri, w.Code, c.want)
		}
	}
}

// A nil Signer signs nothing.
func TestNilSignerStreamed(t *testing.T) {
	r := newRequest("PUT", "/copies/a/1", "x")
	(*Signer)(nil).SignStreamed(r)
	if r.Header.Get(Header) != "" {
		t.Fatal("nil signer set the header")
	}
}
