package api

import (
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestLimitsValidateNamesTheFlag(t *testing.T) {
	for flag, l := range map[string]Limits{
		"--http-write-timeout": {WriteTimeout: -1},
		"--max-watchers":       {MaxWatchers: -1},
		"--write-rate":         {WriteRate: -0.5},
		"--write-burst":        {WriteRate: 1, WriteBurst: -2},
	} {
		err := l.Validate()
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%+v: error %v does not name %s", l, err, flag)
		}
	}
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestWatchersRefuseBeyondTheLimitAndGiveBack(t *testing.T) {
	w := &watchers{max: 2}
	if w.acquire() != nil || w.acquire() != nil {
		t.Fatal("the first two must get a place")
	}
	err := w.acquire()
	if statusOf(err) != http.StatusTooManyRequests || !strings.Contains(err.Error(), "--max-watchers") {
		t.Fatalf("third: %v (status %d)", err, statusOf(err))
	}
	w.release()
	if err := w.acquire(); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if n := w.open.Load(); n != 2 {
		t.Fatalf("open %d, want 2 (a refusal must not hold a place)", n)
	}
	unlimited := &watchers{}
	for range 10000 {
		if err := unlimited.acquire(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteLimiterBurstThenRate(t *testing.T) {
	wl := newWriteLimiter(Limits{WriteRate: 2})
	if wl.burst != 4 {
		t.Fatalf("burst %d, want twice the rate", wl.burst)
	}
	key := sha256.Sum256([]byte("a"))
	now := time.Unix(1000, 0)
	for i := range 4 {
		if d := wl.wait(key, now); d != 0 {
			t.Fatalf("write %d of the burst refused for %s", i+1, d)
		}
	}
	d := wl.wait(key, now)
	if d <= 0 || d > time.Second {
		t.Fatalf("fifth write: wait %s, want (0, 500ms]", d)
	}
	// A refusal takes nothing: after the wait it names, one write passes.
	if d2 := wl.wait(key, now.Add(d)); d2 != 0 {
		t.Fatalf("after %s: still refused for %s", d, d2)
	}
	// Another client has its own bucket.
	if d := wl.wait(sha256.Sum256([]byte("b")), now); d != 0 {
		t.Fatalf("another client refused for %s", d)
	}
	if off := newWriteLimiter(Limits{}); off != nil {
		t.Fatal("rate 0 must turn the limit off")
	}
}

func TestWriteLimiterForgetsIdleClientsAndStaysBounded(t *testing.T) {
	wl := newWriteLimiter(Limits{WriteRate: 1000, WriteBurst: 1})
	now := time.Unix(1000, 0)
	for i := range maxRateKeys + 100 {
		wl.wait(sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)}), now)
	}
	if n := wl.size(); n != maxRateKeys {
		t.Fatalf("%d clients remembered, want the bound %d", n, maxRateKeys)
	}
	// Beyond the bound new clients share the overflow bucket (burst 1).
	extra := sha256.Sum256([]byte("late"))
	if d := wl.wait(extra, now); d == 0 {
		t.Fatal("the overflow bucket was used up by the clients beyond the bound")
	}
	// Once idle past a refill, every bucket is full again and forgotten.
	later := now.Add(wl.idle + time.Second)
	if d := wl.wait(extra, later); d != 0 {
		t.Fatalf("after the sweep: refused for %s", d)
	}
	if n := wl.size(); n != 1 {
		t.Fatalf("%d clients remembered after the sweep, want 1", n)
	}
}

func TestWriteKeyHashesTokenElseAddress(t *testing.T) {
	req := func(h map[string]string, addr string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/register", nil)
		r.RemoteAddr = addr
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	bearer := req(map[string]string{"Authorization": "Bearer secret"}, "10.0.0.1:1")
	a := writeKey(bearer, true)
	b := writeKey(req(map[string]string{"X-Custodes-Token": "secret"}, "10.0.0.2:2"), true)
	if a != b {
		t.Fatal("the same token in either header must be the same client")
	}
	if a == writeKey(req(nil, "10.0.0.1:1"), true) {
		t.Fatal("a token and an address must be different clients")
	}
	if a == sha256.Sum256([]byte("secret")) {
		t.Fatal("the key must not be a bare hash of the token")
	}
	// Where tokens are not verified, an invented one escapes nothing.
	if writeKey(bearer, false) != writeKey(req(nil, "10.0.0.1:9"), false) {
		t.Fatal("without PerToken the address alone must name the client")
	}
	if writeKey(req(nil, "10.0.0.1:1"), false) != writeKey(req(nil, "10.0.0.1:2"), false) {
		t.Fatal("the port must not make another client")
	}
	if writeKey(req(map[string]string{"X-Forwarded-For": "1.2.3.4"}, "10.0.0.1:1"), false) != writeKey(req(nil, "10.0.0.1:3"), false) {
		t.Fatal("X-Forwarded-For must not choose the client")
	}
}

// limitedEcho routes a write, a read and an internal write through the
// write limiter and the api's error handler.
func limitedEcho(l Limits) *echo.Echo {
	s := &Server{cfg: Config{Limits: l}, writes: newWriteLimiter(l), log: slog.New(slog.DiscardHandler)}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.writeDeadline, s.limitWrites)
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	e.POST("/register", ok)
	e.GET("/services", ok)
	e.POST("/internal/v1/apply", ok)
	return e
}

func TestLimitWritesAnswers429InTheErrorShape(t *testing.T) {
	e := limitedEcho(Limits{WriteRate: 1, WriteBurst: 2, PerToken: true})
	do := func(method, path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "192.0.2.7:4000"
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w
	}
	for range 2 {
		if w := do(http.MethodPost, "/register", ""); w.Code != http.StatusNoContent {
			t.Fatalf("within the burst: %d %s", w.Code, w.Body)
		}
	}
	w := do(http.MethodPost, "/register", "")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("beyond the burst: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body["error"], "--write-rate") {
		t.Fatalf("body %s: want {\"error\"} naming --write-rate", w.Body)
	}
	// Reads, the agents' own protocol and another client are not counted.
	for _, c := range []struct{ method, path, token string }{
		{http.MethodGet, "/services", ""},
		{http.MethodPost, "/internal/v1/apply", ""},
		{http.MethodPost, "/register", "another"},
	} {
		if w := do(c.method, c.path, c.token); w.Code != http.StatusNoContent {
			t.Fatalf("%s %s (token %q): %d", c.method, c.path, c.token, w.Code)
		}
	}
}

func TestRetryAfterIsWholeSecondsAtLeastOne(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", 1500 * time.Millisecond: "2", 3 * time.Second: "3"} {
		if got := retryAfter(d); got != want {
			t.Errorf("retryAfter(%s) = %s, want %s", d, got, want)
		}
	}
}
