package repltest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// sampleSweeps polls /admin/dfs on a live agent every 50 ms until stop
// is closed (two minutes at most), keeping in most the most copies a
// last sweep it saw made.
func (f *fsys) sampleSweeps(stop <-chan struct{}) *atomic.Int64 {
	var most atomic.Int64
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			case <-f.quit:
				return
			case <-time.After(50 * time.Millisecond):
			}
			up := f.live()
			if len(up) == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			o, err := f.adminDFS(ctx, up[0])
			cancel()
			if err == nil && o.LastSweep != nil && int64(o.LastSweep.Copied) > most.Load() {
				most.Store(int64(o.LastSweep.Copied))
			}
		}
	}()
	return &most
}

// update locks c's file through agent i, writes b as its next version and
// unlocks it; c is updated once the update is acknowledged.
func (f *fsys) update(ctx context.Context, i int, c *content, b []byte) error {
	a, err := f.do(ctx, i, "alice", http.MethodPost, "/lock?name="+q(c.name)+"&owner="+q(c.owner)+"&ttl=30s", nil, nil)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("lock %s: %s", c.name, a)
	}
	var g struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(a.body, &g); err != nil {
		return err
	}
	defer func() {
		_, _ = f.do(context.Background(), i, "alice", http.MethodPost, "/unlock?name="+q(c.name)+"&owner="+q(c.owner), nil, http.Header{"X-Lock-Token": {g.Token}})
	}()
	a, err = f.do(ctx, i, "alice", http.MethodPost, "/update?name="+q(c.name)+"&owner="+q(c.owner), b, http.Header{"X-Lock-Token": {g.Token}})
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("update %s: %s", c.name, a)
	}
	var v struct {
		Version uint64 `json:"version"`
	}
	if err := json.Unmarshal(a.body, &v); err != nil {
		return err
	}
	c.version, c.bytes = v.Version, b
	return nil
}
