package replication

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// confirmDead probes a server gossip holds dead up to attempts times, a
// timeout each and a pause of one timeout between them, and returns nil
// as soon as one probe answers: the last probe's error when none did, the
// context's when it ends first. A refused connection ends it at once:
// nothing listens at the address (the process is gone), which load
// cannot fake, unlike a timeout.
//
// Why more than one: a death is costly to take back (every file on the
// server is copied elsewhere, and when the server is found alive again
// the surplus copies are deleted), and on a loaded machine gossip and a
// single probe can both miss a server that is merely slow for a second.
// Consul likewise waits out a suspicion before it calls a node failed.
func confirmDead(ctx context.Context, probe func(context.Context) error, attempts int, timeout time.Duration) error {
	var err error
	for i := range attempts {
		if i > 0 {
			t := time.NewTimer(timeout)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err = probe(pctx)
		cancel()
		if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return err
}
