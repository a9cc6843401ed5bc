package keyring

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header carries the proof of the cluster key on agent-to-agent requests.
const Header = "X-Custodes-Auth"

// DefaultMaxBody bounds the body a Signer or Verifier reads to hash it.
// Agent-to-agent bodies are small except forwarded write batches, which the
// api bounds at a little over 9 MiB.
const DefaultMaxBody = 64 << 20

// derivationLabel separates the HMAC key from the cluster key, which is
// also memberlist's AES key: one secret, two unrelated keys. Change the
// version when the signed string changes.
const derivationLabel = "custodes-internal-v1"

// derive returns the request-signing key of one cluster key.
func derive(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(derivationLabel))
	return m.Sum(nil)
}

// mac computes the signature of one request. body is the hex SHA-256 of
// the body, or streamedBody for a streamed signature.
func mac(derived []byte, method, host, uri string, unixNanos int64, nonce string, body string) []byte {
	m := hmac.New(sha256.New, derived)
	// The host the request was sent to is signed too, so that a captured
	// request cannot be replayed to another agent within the window.
	fmt.Fprintf(m, "%s\n%s\n%s\n%d\n%s\n%s", method, strings.ToLower(host), uri, unixNanos, nonce, body)
	return m.Sum(nil)
}

// streamedBody stands in the signed material for the body hash of a
// streamed signature. It is not 64 hex digits, so no body hash equals it:
// a streamed signature never verifies as a normal one, nor the reverse.
const streamedBody = "streamed-body"

// streamedMark is the fourth part of a streamed signature's header value:
// it tells the Verifier which material to check (the MAC itself, not the
// mark, is what keeps the two kinds apart).
const streamedMark = "s"

// Signer adds the proof of the primary cluster key to outgoing requests.
// It is safe for concurrent use.
type Signer struct {
	derived []byte
	maxBody int64
	now     func() time.Time
}

// NewSigner signs with keys[0], the primary key. It returns nil when keys
// is empty; a nil *Signer signs nothing, so callers need not branch.
func NewSigner(keys [][]byte) *Signer {
	if len(keys) == 0 {
		return nil
	}
	return &Signer{derived: derive(keys[0]), maxBody: DefaultMaxBody, now: time.Now}
}

// WithClock returns a copy of s that reads the time from now: for tests
// and tools that need a request from another moment (a stale one, say).
func (s *Signer) WithClock(now func() time.Time) *Signer {
	if s == nil {
		return nil
	}
	c := *s
	c.now = now
	return &c
}

// Sign sets Header on r. It reads r's body to hash it (at most
// DefaultMaxBody bytes) and puts it back, so r can still be sent (and its
// GetBody still replays it). The request URI signed is r.URL.RequestURI(),
// the one the server sees.
func (s *Signer) Sign(r *http.Request) error {
	if s == nil {
		return nil
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
		_ = r.Body.Close()
		if err != nil {
			return fmt.Errorf("signing %s %s: reading the body: %w", r.Method, r.URL.Path, err)
		}
		if int64(len(body)) > s.maxBody {
			return fmt.Errorf("signing %s %s: body over %d bytes", r.Method, r.URL.Path, s.maxBody)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	s.SignBody(r, body)
	return nil
}

// SignBody sets Header on r for the given body, which the caller already
// holds (r's body is not read): the way for a client that builds its
// bodies in memory to avoid a copy.
func (s *Signer) SignBody(r *http.Request, body []byte) {
	if s == nil {
		return
	}
	r.Header.Set(Header, s.value(r.Method, requestHost(r), r.URL.RequestURI(), body))
}

// SignStreamed sets Header on r with the body marked as streamed: the
// signature covers the method, host, URI, time and nonce but not the
// body, which is not read (it may be too large to hash up front, or not
// yet written). The receiver must check the bytes some other way (a
// checksum); a Verifier accepts such a signature only on the requests its
// VerifierConfig.Streamed allows.
func (s *Signer) SignStreamed(r *http.Request) {
	if s == nil {
		return
	}
	r.Header.Set(Header, s.streamedValue(r.Method, requestHost(r), r.URL.RequestURI()))
}

// value is the header value for one request.
func (s *Signer) value(method, host, uri string, body []byte) string {
	nonce, ts := s.nonceAndTime()
	sum := sha256.Sum256(body)
	return strconv.FormatInt(ts, 10) + "." + nonce + "." + hex.EncodeToString(mac(s.derived, method, host, uri, ts, nonce, hex.EncodeToString(sum[:])))
}

// streamedValue is the header value of a streamed signature.
func (s *Signer) streamedValue(method, host, uri string) string {
	nonce, ts := s.nonceAndTime()
	return strconv.FormatInt(ts, 10) + "." + nonce + "." + hex.EncodeToString(mac(s.derived, method, host, uri, ts, nonce, streamedBody)) + "." + streamedMark
}

func (s *Signer) nonceAndTime() (string, int64) {
	var n [8]byte
	_, _ = rand.Read(n[:]) // crypto/rand does not fail on supported systems
	return hex.EncodeToString(n[:]), s.now().UnixNano()
}

// Transport returns a RoundTripper that signs every request with keys[0]
// before base sends it (http.DefaultTransport when base is nil). With no
// keys it returns base unchanged: an agent without a key sends unsigned.
func Transport(keys [][]byte, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	s := NewSigner(keys)
	if s == nil {
		return base
	}
	return &signingTransport{signer: s, base: base}
}

type signingTransport struct {
	signer *Signer
	base   http.RoundTripper
}

// RoundTrip signs a copy of req: a RoundTripper must not change the
// request it was given.
func (t *signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	if err := t.signer.Sign(out); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(out)
}

// CloseIdleConnections passes on to base, so http.Client's method of that
// name still releases the pooled connections.
func (t *signingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// requestHost is the host an outgoing request goes to, as the server will
// see it in r.Host.
func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}
