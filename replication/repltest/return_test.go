package repltest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/fileservers"
)

// A dead server comes back with stale copies (files updated and deleted
// while it was down, the sweep having healed them elsewhere): it serves
// none of them as current, and its stale copies and the deleted files'
// are removed from its store.
func TestADeadServerReturnsWithStaleCopies(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 60, 5)
	f.waitAtR(t, files, 10*time.Second)
	l := f.leader(t)
	fm := f.c.Agents[l].Node().FSM()
	id := f.holder(t)
	// What the server holds before it dies, by file id and version.
	type held struct {
		c       *content
		id      string
		version uint64
	}
	var on []held
	for _, c := range sortedContents(files) {
		fl, _ := fm.FileByName(c.owner, c.name)
		for _, r := range fl.Replicas {
			if r == id {
				on = append(on, held{c, fl.ID, fl.Version})
			}
		}
	}
	if len(on) < 10 {
		t.Fatalf("%s holds %d files, want 10 or more", id, len(on))
	}
	t.Logf("killing %s, which holds %d files", id, len(on))
	if err := f.c.KillFileServerByID(id); err != nil {
		t.Fatal(err)
	}
	f.waitState(t, id, fileservers.StateDead, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(5, 5))
	var updated, deleted []held
	for k, h := range on[:10] {
		if k%2 == 0 {
			if err := f.update(ctx, k%agents, h.c, randomBytes(rng, 5000)); err != nil {
				t.Fatal(err)
			}
			updated = append(updated, h)
			continue
		}
		a, err := f.do(ctx, k%agents, "alice", http.MethodDelete, "/file?name="+q(h.c.name), nil, nil)
		if err != nil || a.status != http.StatusOK {
			t.Fatalf("delete %s: %v %v", h.c.name, a, err)
		}
		delete(files, h.c.name)
		deleted = append(deleted, h)
	}
	t.Logf("%d files updated and %d deleted while %s was down", len(updated), len(deleted), id)
	f.waitAtR(t, files, 20*time.Second)
	i := f.c.FileServerIndex(id)
	if err := f.c.RestartFileServer(i); err != nil {
		t.Fatal(err)
	}
	f.waitState(t, id, fileservers.StateAlive, 10*time.Second)
	t.Logf("%s restarted and registered", id)
	store := f.c.FileServer(i).Store()
	agenttest.WaitFor(t, "the stale and deleted copies removed from "+id, 15*time.Second, func() bool {
		for _, h := range append(updated, deleted...) {
			if _, err := store.Stat(h.id, h.version); err == nil {
				return false
			}
		}
		return true
	})
	for _, h := range updated {
		for _, a := range f.live() {
			if err := f.read(ctx, a, h.c); err != nil {
				t.Fatalf("after %s returned: %v", id, err)
			}
		}
	}
	for _, h := range deleted {
		for _, a := range f.live() {
			r, err := f.do(ctx, a, "alice", http.MethodGet, "/read?name="+q(h.c.name), nil, nil)
			if err != nil || r.status != http.StatusNotFound {
				t.Fatalf("read of deleted %s on agent %d: %v %v, want 404", h.c.name, a+1, r, err)
			}
		}
	}
	f.waitAtR(t, files, 15*time.Second)
	// Copies of current versions it still holds may have been adopted:
	// any it lists is on its disk (atR), and any it keeps unlisted is
	// removed once the file has its copies.
	adopted := 0
	for _, h := range on[10:] {
		fl, _ := fm.FileByName(h.c.owner, h.c.name)
		for _, r := range fl.Replicas {
			if r == id {
				adopted++
			}
		}
	}
	t.Logf("%d of the %d current copies it held were adopted", adopted, len(on)-10)
	inv, err := store.Inventory()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range inv {
		fl, ok := fm.File(c.File)
		if !ok || fl.Version != c.Version {
			t.Errorf("%s still holds %s version %d (index: %v at %d)", id, c.File, c.Version, ok, fl.Version)
		}
	}
	_ = fmt.Sprint
}

// A server marked dead while it is alive (cut off for a while: a
// partition, a long pause, a probe lost under load) never restarts, so
// never registers again: the leader's sweep sees gossip call it alive,
// probes it, marks it alive again and reconciles it. Simulated here by
// committing it dead while it runs.
func TestAServerMarkedDeadWhileAliveIsMarkedAliveAgain(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 30, 7)
	f.waitAtR(t, files, 10*time.Second)
	id := f.holder(t)
	l := f.leader(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.c.Agents[l].Node().Propose(ctx, fsm.DFSSetServerStateRequestType,
		&fileservers.SetStateRequest{ID: id, State: fileservers.StateDead}); err != nil {
		t.Fatal(err)
	}
	f.waitState(t, id, fileservers.StateDead, 5*time.Second)
	marked := time.Now()
	f.waitState(t, id, fileservers.StateAlive, 10*time.Second)
	t.Logf("%s marked alive again %s after it was marked dead", id, time.Since(marked).Round(time.Millisecond))
	f.waitAtR(t, files, 20*time.Second)
}
