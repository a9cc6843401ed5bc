package repltest_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

// chaosFile is one file of the chaos test: what it must read back as
// (the last acknowledged version), and every content it may have been
// given (a read may see any of them; an update of unknown outcome may be
// the last).
type chaosFile struct {
	mu      sync.Mutex
	c       content
	maybe   []content // unknown outcomes since the last acknowledgement
	allowed map[[32]byte]bool
}

// Writers, updaters and readers over HTTP while file servers and agents
// are killed and restarted at random (seeded; never two file servers nor
// two agents down at once): every acknowledged write reads back
// byte-exact at its last acknowledged version, with R live copies.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos runs ~40 s")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	f := start(t)
	var mu sync.Mutex
	all := map[string]*chaosFile{}
	var names []string
	add := func(c content) {
		cf := &chaosFile{c: c, allowed: map[[32]byte]bool{sha256.Sum256(c.bytes): true}}
		mu.Lock()
		all[c.name] = cf
		names = append(names, c.name)
		mu.Unlock()
	}
	for name, c := range f.writeFiles(t, 40, seed) {
		_ = name
		add(*c)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stats struct {
		sync.Mutex
		writes, writeErrs, updates, updateErrs, reads, readErrs int
	}
	worker := func(k int, fn func(rng *rand.Rand, i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(k)))
			for n := 0; n < 2000; n++ {
				select {
				case <-stop:
					return
				case <-f.quit:
					return
				default:
				}
				up := f.live()
				if len(up) > 0 {
					fn(rng, up[rng.IntN(len(up))])
				}
				time.Sleep(time.Duration(20+rng.IntN(40)) * time.Millisecond)
			}
		}()
	}
	for k := range 2 { // writers
		worker(10+k, func(rng *rand.Rand, i int) {
			c := content{owner: "alice", name: fmt.Sprintf("w%d-%d", k, rng.Uint32()), version: 1, bytes: randomBytes(rng, 1000+rng.IntN(8000))}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := f.do(ctx, i, "alice", http.MethodPost, "/write?name="+q(c.name), c.bytes, nil)
			stats.Lock()
			defer stats.Unlock()
			stats.writes++
			if err != nil || a.status != http.StatusCreated {
				stats.writeErrs++ // unknown or refused: not acknowledged, not checked
				return
			}
			add(c)
		})
	}
	for k := range 2 { // updaters: updater k owns the files whose index is k mod 2
		worker(20+k, func(rng *rand.Rand, i int) {
			mu.Lock()
			var mine []*chaosFile
			for j, n := range names {
				if j%2 == k && j < 40 {
					mine = append(mine, all[n])
				}
			}
			mu.Unlock()
			cf := mine[rng.IntN(len(mine))]
			cf.mu.Lock()
			next := cf.c
			cf.mu.Unlock()
			b := randomBytes(rng, 1000+rng.IntN(8000))
			cf.mu.Lock()
			cf.allowed[sha256.Sum256(b)] = true
			cf.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := f.update(ctx, i, &next, b)
			cf.mu.Lock()
			if err == nil {
				cf.c, cf.maybe = next, nil
			} else {
				// The outcome may be unknown: the next version may hold b.
				cf.maybe = append(cf.maybe, content{owner: next.owner, name: next.name, version: 0, bytes: b})
			}
			cf.mu.Unlock()
			stats.Lock()
			stats.updates++
			if err != nil {
				stats.updateErrs++
			}
			stats.Unlock()
		})
	}
	for k := range 2 { // readers: a 200 is always one of the file's contents
		worker(30+k, func(rng *rand.Rand, i int) {
			mu.Lock()
			cf := all[names[rng.IntN(len(names))]]
			mu.Unlock()
			cf.mu.Lock()
			name := cf.c.name
			cf.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := f.do(ctx, i, "alice", http.MethodGet, "/read?name="+q(name), nil, nil)
			stats.Lock()
			stats.reads++
			if err != nil || a.status != http.StatusOK {
				stats.readErrs++
			}
			stats.Unlock()
			if err == nil && a.status == http.StatusOK {
				cf.mu.Lock()
				ok := cf.allowed[sha256.Sum256(a.body)]
				cf.mu.Unlock()
				if !ok {
					t.Errorf("read %s on agent %d: %d bytes that were never written", name, i+1, len(a.body))
				}
			}
		})
	}
	// The chaos: one action every 1-2.5 s for 35 s.
	rng := rand.New(rand.NewPCG(seed, 99))
	fsDown, agentDown := -1, -1
	chaosStart := time.Now()
	var events []string
	logf := func(format string, args ...any) {
		events = append(events, fmt.Sprintf("%6.1fs ", time.Since(chaosStart).Seconds())+fmt.Sprintf(format, args...))
	}
	for end := chaosStart.Add(35 * time.Second); time.Now().Before(end); {
		time.Sleep(time.Duration(1000+rng.IntN(1500)) * time.Millisecond)
		switch rng.IntN(4) {
		case 0: // a file server dies, if none is down and the last healed
			if fsDown >= 0 || f.atRQueue() != 0 {
				continue
			}
			fsDown = rng.IntN(servers)
			f.c.KillFileServer(fsDown)
			logf("file server fs%d killed", fsDown+1)
		case 1:
			if fsDown < 0 {
				continue
			}
			if err := f.c.RestartFileServer(fsDown); err != nil {
				t.Fatal(err)
			}
			logf("file server fs%d restarted", fsDown+1)
			fsDown = -1
		case 2: // an agent dies, the leader half the time
			if agentDown >= 0 {
				continue
			}
			agentDown = rng.IntN(agents)
			if l := f.c.Leader(); l >= 0 && rng.IntN(2) == 0 {
				agentDown = l
			}
			f.killAgent(agentDown)
			logf("agent %d killed", agentDown+1)
		case 3:
			if agentDown < 0 {
				continue
			}
			if err := f.restartAgent(agentDown); err != nil {
				t.Fatal(err)
			}
			logf("agent %d restarted", agentDown+1)
			agentDown = -1
		}
	}
	close(stop)
	wg.Wait()
	if fsDown >= 0 {
		if err := f.c.RestartFileServer(fsDown); err != nil {
			t.Fatal(err)
		}
		logf("file server fs%d restarted", fsDown+1)
	}
	if agentDown >= 0 {
		if err := f.restartAgent(agentDown); err != nil {
			t.Fatal(err)
		}
		logf("agent %d restarted", agentDown+1)
	}
	for _, e := range events {
		t.Log(e)
	}
	t.Logf("writes %d (%d not acknowledged), updates %d (%d failed), reads %d (%d failed)", stats.writes, stats.writeErrs, stats.updates, stats.updateErrs, stats.reads, stats.readErrs)
	if err := f.c.WaitForFileServers(servers, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	f.leader(t)
	// Every acknowledged file at its last acknowledged version (or a
	// later one of unknown outcome), byte-exact, with R live copies.
	final := map[string]*content{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	agenttest.WaitFor(t, "every file readable as acknowledged", 30*time.Second, func() bool {
		for _, n := range names {
			cf := all[n]
			c := cf.c
			if err := f.read(ctx, f.live()[0], &c); err == nil {
				final[n] = &c
				continue
			}
			found := false
			for _, m := range cf.maybe {
				a, err := f.do(ctx, f.live()[0], "alice", http.MethodGet, "/read?name="+q(n), nil, nil)
				if err == nil && a.status == http.StatusOK && string(a.body) == string(m.bytes) {
					v := c.version
					fmt.Sscan(a.header.Get("X-Custodes-Version"), &v)
					final[n] = &content{owner: c.owner, name: n, version: v, bytes: m.bytes}
					found = true
					break
				}
			}
			if !found {
				t.Logf("%s does not read back as acknowledged (version %d) yet", n, c.version)
				return false
			}
		}
		return true
	})
	f.waitAtR(t, final, 30*time.Second)
	t.Logf("%d files read back as acknowledged, each at R live copies", len(final))
}

// atRQueue is the leader's replication queue's length (-1 without one).
func (f *fsys) atRQueue() int {
	l := f.c.Leader()
	if l < 0 {
		return -1
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.c.Agents[l] == nil {
		return -1
	}
	return len(f.c.Agents[l].Node().FSM().ReplicationQueue())
}
