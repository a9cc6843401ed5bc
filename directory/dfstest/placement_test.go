package dfstest_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

// Thirty writes of various sizes, through every agent: each file's two
// copies are on distinct servers, the backup is the primary's successor
// on the ring /admin/dfs shows, each copy is on the server the index
// names (and on no other), and the servers' file counts differ by at most
// one, on every agent.
func TestPlacementBalancesAndBacksUpOnTheSuccessor(t *testing.T) {
	clean(t)
	ring := ringOrder(adminDFS(t, 0))
	if len(ring) != 3 {
		t.Fatalf("ring %v: want 3 servers", ring)
	}
	const n = 30
	placed := map[string]fileView{}
	sizes := rand.New(rand.NewPCG(1, 2)) // sizes differ: ties on files are not all settled alike by bytes
	for k := range n {
		name := fmt.Sprintf("placed/%02d", k)
		size := int(1 + sizes.Int64N(20000))
		w := write(t, k%3, "carol", name, randomBytes(size, uint64(k)))
		placed[name] = w
		// After every write, not only at the end: the counts must never
		// drift apart.
		var o overview
		agenttest.WaitFor(t, "agent 1 to count the write", 5*time.Second, func() bool {
			o = adminDFS(t, 0)
			return o.Files == int64(k+1)
		})
		if lo, hi := spread(o); hi-lo > 1 {
			t.Fatalf("after write %d (%d bytes on %v): files per server %+v differ by %d", k+1, size, w.Replicas, o.Servers, hi-lo)
		}
	}
	perServer := map[string]int{}
	for name, w := range placed {
		s := stat(t, 1, "carol", "carol", name)
		if !slices.Equal(s.Replicas, w.Replicas) {
			t.Errorf("%q: stat says replicas %v, the write said %v", name, s.Replicas, w.Replicas)
		}
		if len(w.Replicas) != 2 || w.Replicas[0] == w.Replicas[1] {
			t.Errorf("%q has replicas %v: want 2 on distinct servers", name, w.Replicas)
			continue
		}
		i := slices.Index(ring, w.Replicas[0])
		if i < 0 || ring[(i+1)%len(ring)] != w.Replicas[1] {
			t.Errorf("%q: replicas %v, but the successor of %s on the ring %v is not %s", name, w.Replicas, w.Replicas[0], ring, w.Replicas[1])
		}
		for j := range cl.FileServers() {
			id := cl.FileServer(j).ID()
			_, err := cl.FileServer(j).Store().Stat(w.ID, 1)
			if on := slices.Contains(w.Replicas, id); on != (err == nil) {
				t.Errorf("%q (%s): listed on %s: %v; stored there: %v", name, w.ID, id, on, err)
			}
		}
		for _, r := range w.Replicas {
			perServer[r]++
		}
	}
	for i := range cl.Agents {
		o := adminDFS(t, i)
		counts := map[string]int64{}
		var total int64
		lo, hi := spread(o)
		for _, s := range o.Servers {
			counts[s.ID] = s.Files
			total += s.Files
			if int(s.Files) != perServer[s.ID] {
				t.Errorf("agent %d: /admin/dfs counts %d files on %s, the files name it %d times", i+1, s.Files, s.ID, perServer[s.ID])
			}
		}
		if total != 2*n || hi-lo > 1 {
			t.Errorf("agent %d: files per server %v (total %d): want %d in all, differing by at most 1", i+1, counts, total, 2*n)
		}
	}
}

func spread(o overview) (lo, hi int64) {
	lo = 1 << 62
	for _, s := range o.Servers {
		lo, hi = min(lo, s.Files), max(hi, s.Files)
	}
	return lo, hi
}
