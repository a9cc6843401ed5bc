package repltest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/fileservers"
)

// A drained server's files are copied elsewhere before it is dropped from
// them: at every moment sampled each file lists at least R copies on
// servers that hold them, and the server ends left, listed by no file.
// No file server stops in this test, so a copy on a server marked dead
// still counts: the detector's false death under load (logged) is not a
// drain dropping a copy.
func TestADrainNeverDropsBelowR(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 100, 6)
	f.waitAtR(t, files, 10*time.Second)
	id := f.holder(t)
	stop := make(chan struct{})
	done := f.reader(files, f.live, stop)
	a := f.call(t, f.leader(t), "root", http.MethodPost, "/admin/dfs/drain", []byte(`{"server":"`+id+`"}`), http.Header{"Content-Type": {"application/json"}})
	if a.status != http.StatusOK {
		t.Fatalf("drain %s: %s", id, a)
	}
	began := time.Now()
	samples := 0
	falseDeaths := map[string]bool{}
	for deadline := began.Add(20 * time.Second); ; samples++ {
		if time.Now().After(deadline) {
			t.Fatalf("%s not left after 20 s", id)
		}
		l := f.c.Leader()
		if l < 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		fm := f.c.Agents[l].Node().FSM()
		for _, c := range files {
			n, states, ok := copiesListed(fm, c)
			if !ok {
				continue // changed while read: the next sample sees it
			}
			if n < want {
				t.Logf("the cluster's last log lines:\n%s", f.logs)
				t.Fatalf("sample %d: %s has %d copies (%v), want %d or more", samples, c.name, n, states, want)
			}
			for _, st := range states {
				if strings.HasSuffix(st, "="+fileservers.StateDead) && !falseDeaths[st] {
					falseDeaths[st] = true
					t.Logf("sample %d: %s is marked dead while it runs (a false death under load; the sweep revives it)", samples, st)
				}
			}
		}
		if s, _ := fm.Server(id); s.State == fileservers.StateLeft {
			if on := fm.FilesOn(id); len(on) > 0 {
				t.Fatalf("%s is left but %d files list it", id, len(on))
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s left %s after the drain (%d samples)", id, time.Since(began).Round(time.Millisecond), samples)
	f.waitAtR(t, files, 10*time.Second)
	close(stop)
	if errs := <-done; len(errs) > 0 {
		t.Fatalf("%d reads failed during the drain, first: %v", len(errs), errs[0])
	}
}

// copiesListed counts the replicas of file c the FSM lists on servers
// that are not left (alive, draining, or dead: none is stopped here),
// with each replica's server state; ok is false when the file's replicas
// changed while the servers' states were read.
func copiesListed(fm *fsm.FSM, c *content) (n int, states []string, ok bool) {
	fl, found := fm.FileByName(c.owner, c.name)
	if !found {
		return 0, nil, true
	}
	for _, r := range fl.Replicas {
		srv, _ := fm.Server(r)
		states = append(states, r+"="+srv.State)
		if srv.State == fileservers.StateAlive || srv.State == fileservers.StateDraining || srv.State == fileservers.StateDead {
			n++
		}
	}
	again, _ := fm.FileByName(c.owner, c.name)
	return n, states, slices.Equal(fl.Replicas, again.Replicas)
}
