package keyring

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWindow is how far a request's time may be from the receiver's
// clock, either way. Agents of one cluster run NTP; a few seconds also
// bounds how long a captured request could be replayed elsewhere.
const DefaultWindow = 5 * time.Second

// DefaultReplayCache is how many recent signatures a Verifier remembers.
const DefaultReplayCache = 1 << 16

// Reasons a request is refused; Verify wraps them with detail.
var (
	ErrMissing      = errors.New("missing " + Header + " header: agent-to-agent and admin calls need the cluster key")
	ErrMalformed    = errors.New("malformed " + Header + " header")
	ErrStale        = errors.New("request time is too old")
	ErrFuture       = errors.New("request time is in the future")
	ErrBadSignature = errors.New("bad signature: the request was not signed with this cluster's key")
	ErrReplayed     = errors.New("replayed request: this signature was already used")
	ErrTooLarge     = errors.New("request body too large to verify")
	ErrStreamed     = errors.New("streamed signature not accepted on this request")
)

// VerifierConfig tunes a Verifier; zero values take the defaults.
type VerifierConfig struct {
	// Window: requests whose time differs from now by more are refused.
	Window time.Duration
	// MaxBody bounds the body read to check its hash.
	MaxBody int64
	// ReplayCache is how many signatures are remembered to refuse replays
	// within the window; negative turns replay refusal off.
	ReplayCache int
	// Now is the clock (tests set it).
	Now func() time.Time
	// Streamed, if set, names the requests on which a streamed signature
	// (Signer.SignStreamed: the body is not covered, not read) is
	// accepted; their bodies are left unread for the handler, which must
	// check them itself. Nil: no streamed signature is accepted
	// (ErrStreamed).
	Streamed func(r *http.Request) bool
}

// Verifier checks the proof Signer adds, against every key of the list.
// It is safe for concurrent use.
type Verifier struct {
	derived [][]byte
	cfg     VerifierConfig
	seen    *replayCache // nil when replay refusal is off
}

// NewVerifier verifies against every key of keys. It returns nil when keys
// is empty; a nil *Verifier accepts everything, so callers need not branch.
func NewVerifier(keys [][]byte, cfg VerifierConfig) *Verifier {
	if len(keys) == 0 {
		return nil
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.ReplayCache == 0 {
		cfg.ReplayCache = DefaultReplayCache
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg}
	for _, k := range keys {
		v.derived = append(v.derived, derive(k))
	}
	if cfg.ReplayCache > 0 {
		v.seen = newReplayCache(cfg.ReplayCache)
	}
	return v
}

// Verify checks r's proof. It reads r's body to hash it and puts it back
// (from memory) for the handler. The error wraps one of the Err* values.
func (v *Verifier) Verify(r *http.Request) error {
	if v == nil {
		return nil
	}
	h := r.Header.Get(Header)
	if h == "" {
		return ErrMissing
	}
	parts := strings.Split(h, ".")
	streamed := len(parts) == 4 && parts[3] == streamedMark
	if (len(parts) != 3 && !streamed) || parts[1] == "" {
		return fmt.Errorf("%w: want <unix-nanos>.<nonce>.<hex hmac>", ErrMalformed)
	}
	ts, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: time %q is not a number", ErrMalformed, parts[0])
	}
	sig, err := hex.DecodeString(parts[2])
	if err != nil || len(sig) != sha256.Size {
		return fmt.Errorf("%w: signature is not %d bytes of hex", ErrMalformed, sha256.Size)
	}
	now := v.cfg.Now()
	at := time.Unix(0, ts)
	if d := now.Sub(at); d > v.cfg.Window {
		return fmt.Errorf("%w: %s old, the window is %s (are the agents' clocks in sync?)", ErrStale, d.Round(time.Millisecond), v.cfg.Window)
	} else if -d > v.cfg.Window {
		return fmt.Errorf("%w: %s ahead, the window is %s (are the agents' clocks in sync?)", ErrFuture, (-d).Round(time.Millisecond), v.cfg.Window)
	}
	var bodyTag string
	if streamed {
		if v.cfg.Streamed == nil || !v.cfg.Streamed(r) {
			return fmt.Errorf("%w: %s %s", ErrStreamed, r.Method, r.URL.Path)
		}
		bodyTag = streamedBody
	} else {
		var body []byte
		if r.Body != nil && r.Body != http.NoBody {
			body, err = io.ReadAll(io.LimitReader(r.Body, v.cfg.MaxBody+1))
			_ = r.Body.Close()
			if err != nil {
				return fmt.Errorf("%w: reading the body: %v", ErrMalformed, err)
			}
			if int64(len(body)) > v.cfg.MaxBody {
				return fmt.Errorf("%w: over %d bytes", ErrTooLarge, v.cfg.MaxBody)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sum := sha256.Sum256(body)
		bodyTag = hex.EncodeToString(sum[:])
	}
	ok := false
	// Every key is tried (no early exit) so the time taken does not tell
	// which key of the list matched.
	for _, d := range v.derived {
		if hmac.Equal(mac(d, r.Method, r.Host, r.URL.RequestURI(), ts, parts[1], bodyTag), sig) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if v.seen != nil && !v.seen.add([sha256.Size]byte(sig), now, 2*v.cfg.Window) {
		return ErrReplayed
	}
	return nil
}

// authKey marks a request context whose request proved the cluster key.
type authKey struct{}

// Authenticated reports whether ctx belongs to a request that a Verifier's
// Middleware accepted, or to a request made on behalf of one (the api runs
// a forwarded batch's writes under the batch's context).
func Authenticated(ctx context.Context) bool {
	ok, _ := ctx.Value(authKey{}).(bool)
	return ok
}

// Middleware refuses requests without a valid proof: 401 with a JSON body
// {"error": "..."} naming the problem (413 for a body too large to check).
// A request whose context is already Authenticated passes as it is. On a
// nil *Verifier (no key) it returns next: everything passes.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	if v == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Authenticated(r.Context()) {
			next.ServeHTTP(w, r)
			return
		}
		if err := v.Verify(r); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, ErrTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			WriteError(w, status, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, true)))
	})
}

// WriteError answers with status and {"error": err}, the api's error shape.
func WriteError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Custodes-HMAC")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
