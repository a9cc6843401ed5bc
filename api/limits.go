package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Limits bound what the clients of one agent can hold or send, so that
// one client (or a crowd) cannot take the agent away from everyone else.
type Limits struct {
	// WriteTimeout is the write deadline of every answer, counted from
	// when the handler starts. Blocking queries and event streams extend
	// their own (by their wait, or per event), so a client that stops
	// reading is cut off without cutting the long-lived requests short.
	// 0 means none.
	WriteTimeout time.Duration
	// MaxWatchers bounds the blocking queries (a lookup with ?index=N,
	// N > 0) and event streams open at once on this agent; one more is
	// answered 429. 0 means unlimited.
	MaxWatchers int
	// WriteRate is the sustained rate, per second, of writes (POST, PUT,
	// PATCH, DELETE outside /internal/) one client may send to this
	// agent; a client is its address, or with PerToken the token it
	// presents. 0 turns the limit off.
	WriteRate float64
	// WriteBurst is how many writes a client may send at once above the
	// rate; 0 picks twice the rate (at least 1).
	WriteBurst int
	// PerToken counts writes per presented token (Authorization: Bearer,
	// X-Custodes-Token) instead of per address. Set it only where tokens
	// are verified before the limit is applied (the agent does: the api's
	// authorization refuses unknown tokens first): otherwise anyone could
	// escape the limit by inventing a token per request.
	PerToken bool
}

// DefaultLimits returns limits that normal use never meets.
func DefaultLimits() Limits {
	return Limits{WriteTimeout: 30 * time.Second, MaxWatchers: 4096}
}

// Validate checks the limits; errors name the flag that sets each.
func (l Limits) Validate() error {
	switch {
	case l.WriteTimeout < 0:
		return fmt.Errorf("--http-write-timeout %s: must not be negative", l.WriteTimeout)
	case l.MaxWatchers < 0:
		return fmt.Errorf("--max-watchers %d: must be 0 (unlimited) or more", l.MaxWatchers)
	case l.WriteRate < 0 || math.IsNaN(l.WriteRate) || math.IsInf(l.WriteRate, 0):
		return fmt.Errorf("--write-rate %v: must be 0 (off) or a positive number of writes per second", l.WriteRate)
	case l.WriteBurst < 0:
		return fmt.Errorf("--write-burst %d: must be 0 (twice the rate) or more", l.WriteBurst)
	}
	return nil
}

// burst is the effective burst of the write limit.
func (l Limits) burst() int {
	if l.WriteBurst > 0 {
		return l.WriteBurst
	}
	return max(1, int(math.Ceil(2*l.WriteRate)))
}

// limitError is a refusal by one of the limits: a 429 that tells the
// client when to try again.
type limitError struct {
	msg   string
	retry time.Duration
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return ErrTooManyRequests }

// retryAfter is the Retry-After value for d: whole seconds, at least 1
// (a client told 0 would retry at once).
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// watchers counts the long-lived requests open on this agent.
type watchers struct {
	max  int64
	open atomic.Int64
}

// acquire takes a place, or answers the 429 to return; every acquire
// that succeeds must be followed by exactly one release.
func (w *watchers) acquire() error {
	if w.max <= 0 {
		w.open.Add(1)
		return nil
	}
	if w.open.Add(1) > w.max {
		w.open.Add(-1)
		return &limitError{
			msg:   fmt.Sprintf("too many blocking queries and event streams on this agent (the limit, --max-watchers, is %d); retry shortly", w.max),
			retry: time.Second,
		}
	}
	return nil
}

func (w *watchers) release() { w.open.Add(-1) }

// Watchers is the number of blocking queries and event streams open now.
func (s *Server) Watchers() int { return int(s.watchers.open.Load()) }

// writeDeadline gives every answer the write deadline (Limits.WriteTimeout)
// from the moment its handler starts. It is set per request here rather
// than as http.Server.WriteTimeout because net/http/pprof refuses any
// profile at least as long as the server's WriteTimeout (30 s is its
// default), and because the handlers that must outlive it extend their
// own deadline the same way (extendWrite).
func (s *Server) writeDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.extendWrite(c, 0)
		if d := s.cfg.Limits.WriteTimeout; d > 0 && strings.HasPrefix(c.Request().URL.Path, "/debug/pprof/") {
			// A profile or trace writes only at the end of ?seconds=.
			if sec, err := strconv.ParseFloat(c.QueryParam("seconds"), 64); err == nil && sec > 0 && sec < 1e6 {
				s.extendWrite(c, time.Duration(sec*float64(time.Second)))
			} else {
				s.extendWrite(c, 30*time.Second)
			}
		}
		return next(c)
	}
}

// extendWrite sets the answer's write deadline to now + extra +
// WriteTimeout. Writers that do not support deadlines (test recorders)
// are left alone.
func (s *Server) extendWrite(c echo.Context, extra time.Duration) {
	d := s.cfg.Limits.WriteTimeout
	if d <= 0 {
		return
	}
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(extra + d))
}
