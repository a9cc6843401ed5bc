package api

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// maxRateKeys bounds the clients the write limiter remembers at once.
// Beyond it, new clients share one bucket (overflow) until idle ones
// expire: memory stays bounded whatever the number of addresses or tokens
// a crowd presents, and the crowd still gets no more than one client's
// rate.
const maxRateKeys = 65536

// writeLimiter holds one token bucket per client for writes.
type writeLimiter struct {
	limit rate.Limit
	burst int
	// idle is how long a bucket may go unused before it is forgotten: by
	// then it has refilled to its burst, so forgetting it changes nothing
	// (a new bucket starts full).
	idle time.Duration

	mu        sync.Mutex
	buckets   map[[sha256.Size]byte]*bucket
	overflow  *rate.Limiter
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// newWriteLimiter returns nil when the limit is off.
func newWriteLimiter(l Limits) *writeLimiter {
	if l.WriteRate <= 0 {
		return nil
	}
	burst := l.burst()
	refill := time.Duration(float64(burst) / l.WriteRate * float64(time.Second))
	return &writeLimiter{
		limit:    rate.Limit(l.WriteRate),
		burst:    burst,
		idle:     max(refill, time.Second),
		buckets:  make(map[[sha256.Size]byte]*bucket),
		overflow: rate.NewLimiter(rate.Limit(l.WriteRate), burst),
	}
}

// wait takes one write from key's bucket at now and returns 0, or how
// long the client should wait before its next write is allowed.
func (wl *writeLimiter) wait(key [sha256.Size]byte, now time.Time) time.Duration {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	b := wl.buckets[key]
	if b == nil {
		if len(wl.buckets) >= maxRateKeys || now.Sub(wl.lastSweep) > wl.idle {
			wl.sweep(now)
		}
		if len(wl.buckets) < maxRateKeys {
			b = &bucket{lim: rate.NewLimiter(wl.limit, wl.burst)}
			wl.buckets[key] = b
		}
	}
	lim := wl.overflow
	if b != nil {
		b.used = now
		lim = b.lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused write takes nothing from the bucket
		return d
	}
	return 0
}

// sweep forgets the buckets unused for longer than idle.
func (wl *writeLimiter) sweep(now time.Time) {
	wl.lastSweep = now
	for k, b := range wl.buckets {
		if now.Sub(b.used) > wl.idle {
			delete(wl.buckets, k)
		}
	}
}

// size is the number of clients remembered (for tests).
func (wl *writeLimiter) size() int {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	return len(wl.buckets)
}

// writeKey names the client a write is counted against: with perToken
// the token it presents (Authorization: Bearer or X-Custodes-Token), else
// its address. Only a SHA-256 of it is kept, so no token is stored or
// logged, and the two kinds cannot collide (each is prefixed). The address
// is the TCP peer's: X-Forwarded-For is the client's to choose.
func writeKey(r *http.Request, perToken bool) [sha256.Size]byte {
	if tok := presentedToken(r); perToken && tok != "" {
		return sha256.Sum256([]byte("token\x00" + tok))
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return sha256.Sum256([]byte("addr\x00" + host))
}

// presentedToken is the token of the request, if any.
func presentedToken(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return strings.TrimSpace(r.Header.Get("X-Custodes-Token"))
}

// isWrite reports the requests the write limit counts: every method that
// may change state, on every route but the agents' own protocol (a
// follower's forwarded writes were counted where the client sent them).
func isWrite(r *http.Request) bool {
	return !safeMethod(r.Method) && !strings.HasPrefix(r.URL.Path, internalPrefix)
}

// limitWrites refuses a client's write beyond --write-rate with 429 and a
// Retry-After, before its body is read.
func (s *Server) limitWrites(next echo.HandlerFunc) echo.HandlerFunc {
	if s.writes == nil {
		return next
	}
	return func(c echo.Context) error {
		r := c.Request()
		if !isWrite(r) {
			return next(c)
		}
		if d := s.writes.wait(writeKey(r, s.cfg.Limits.PerToken), time.Now()); d > 0 {
			return &limitError{
				msg:   fmt.Sprintf("too many writes from this client (the limit, --write-rate, is %g per second); retry after %s", float64(s.writes.limit), retryAfter(d)+"s"),
				retry: d,
			}
		}
		return next(c)
	}
}
