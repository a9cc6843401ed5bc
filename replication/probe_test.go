package replication

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestConfirmDead(t *testing.T) {
	timeout := errors.New("context deadline exceeded")
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name     string
		answers  []error // one per probe; beyond the list, a timeout
		attempts int
		dead     bool
		probes   int
	}{
		{"answers at once", []error{nil}, 3, false, 1},
		{"answers the second time", []error{timeout, nil}, 3, false, 2},
		{"answers the last time", []error{timeout, timeout, nil}, 3, false, 3},
		{"never answers", nil, 3, true, 3},
		{"one attempt", []error{timeout, nil}, 1, true, 1},
		{"refused: nothing listens", []error{fmt.Errorf("get /alive: %w", refused), nil}, 3, true, 1},
		{"refused after a timeout", []error{timeout, refused, nil}, 3, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probes := 0
			err := confirmDead(context.Background(), func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("a probe without a deadline")
				}
				probes++
				if probes <= len(tc.answers) {
					return tc.answers[probes-1]
				}
				return timeout
			}, tc.attempts, time.Millisecond)
			if (err != nil) != tc.dead || probes != tc.probes {
				t.Fatalf("err %v after %d probes, want dead %v after %d", err, probes, tc.dead, tc.probes)
			}
		})
	}
}

// A sweep cancelled (leadership lost) stops confirming at once: it
// neither waits out its pauses nor reports the server dead for it.
func TestConfirmDeadStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	probes := 0
	began := time.Now()
	err := confirmDead(ctx, func(context.Context) error {
		probes++
		cancel()
		return errors.New("timeout")
	}, 5, time.Hour)
	if !errors.Is(err, context.Canceled) || probes != 1 || time.Since(began) > time.Minute {
		t.Fatalf("err %v after %d probes in %s", err, probes, time.Since(began))
	}
}

// The refusal confirmDead takes as conclusive is the one net/http returns
// for a port nobody listens on (wrapped in url.Error and net.OpError).
func TestARefusedHTTPCallIsConnRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = http.Get("http://" + addr + "/alive")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a call to a closed port: %v, not ECONNREFUSED", err)
	}
}
