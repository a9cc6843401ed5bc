package repltest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

// A copy corrupted on disk is found by the scrub; the leader, re-reading
// the server's inventory (--inventory-interval, 2 s here), drops that
// replica and the sweep replaces it from the good copy. No read ever
// returns the corrupt bytes.
func TestACorruptCopyIsReplaced(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 20, 4)
	f.waitAtR(t, files, 10*time.Second)
	l := f.leader(t)
	c := files["f007"]
	fl, _ := f.c.Agents[l].Node().FSM().FileByName(c.owner, c.name)
	victim := fl.Replicas[0]
	i := f.c.FileServerIndex(victim)
	path := filepath.Join(f.c.FileServer(i).Config().DataDir, "copies", fl.ID, fmt.Sprintf("%d.data", fl.Version))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("flipped a byte of %s's copy on %s (its primary)", c.name, victim)
	stop := make(chan struct{})
	done := f.reader(map[string]*content{c.name: c}, f.live, stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.c.FileServer(i).ScrubNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scrub: %+v", res)
	began := time.Now()
	agenttest.WaitFor(t, victim+" dropped from "+c.name+"'s replicas", 15*time.Second, func() bool {
		l := f.c.Leader()
		if l < 0 {
			return false
		}
		now, _ := f.c.Agents[l].Node().FSM().FileByName(c.owner, c.name)
		return !slices.Contains(now.Replicas, victim)
	})
	t.Logf("the corrupt replica was dropped %s after the scrub", time.Since(began).Round(time.Millisecond))
	f.waitAtR(t, files, 15*time.Second)
	close(stop)
	if errs := <-done; len(errs) > 0 {
		t.Fatalf("%d reads failed, first: %v", len(errs), errs[0])
	}
	for _, a := range f.live() {
		if err := f.read(ctx, a, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.c.FileServer(i).Store().Stat(fl.ID, fl.Version); err == nil {
		agenttest.WaitFor(t, "the corrupt copy removed from "+victim, 10*time.Second, func() bool {
			_, err := f.c.FileServer(i).Store().Stat(fl.ID, fl.Version)
			return err != nil
		})
	}
}
