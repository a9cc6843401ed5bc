package repltest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/fileservers"
)

// A drained server's files are copied elsewhere before it is dropped from
// them: at every moment sampled each file has at least R readable copies
// (alive or draining), and the server ends left, listed by no file.
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
			fl, _ := fm.FileByName(c.owner, c.name)
			if _, readable, _ := fm.LiveCopies(fl.ID); readable < want {
				t.Fatalf("sample %d: %s has %d readable copies (%v), want %d or more", samples, c.name, readable, fl.Replicas, want)
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
