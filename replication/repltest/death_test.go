package repltest_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/fileservers"
)

// killHealed kills the file server id while a reader reads every file in
// a loop, waits until every file is back at R and checks /admin/dfs.
func killHealed(t *testing.T, f *fsys, files map[string]*content, id string) {
	t.Helper()
	stop := make(chan struct{})
	done := f.reader(files, f.live, stop)
	sweeps := f.sampleSweeps(stop)
	t.Logf("killing file server %s", id)
	killed := time.Now()
	if err := f.c.KillFileServerByID(id); err != nil {
		t.Fatal(err)
	}
	f.waitState(t, id, fileservers.StateDead, 10*time.Second)
	t.Logf("%s confirmed dead after %s", id, time.Since(killed).Round(time.Millisecond))
	f.waitAtR(t, files, 20*time.Second)
	t.Logf("every file back at R %s after the kill", time.Since(killed).Round(time.Millisecond))
	close(stop)
	t.Logf("the most copies /admin/dfs's last_sweep showed: %d", sweeps.Load())
	if errs := <-done; len(errs) > 0 {
		for _, err := range errs[:min(len(errs), 5)] {
			t.Error(err)
		}
		t.Fatalf("%d reads failed while %s was down", len(errs), id)
	}
	var o overview
	var err error
	for _, i := range f.live() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		o, err = f.adminDFS(ctx, i)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if o.Queue != 0 || o.Lost != 0 || o.state(id) != fileservers.StateDead {
			t.Fatalf("/admin/dfs on agent %d: queue %d, lost %d, %s %q; want 0, 0, dead", i+1, o.Queue, o.Lost, id, o.state(id))
		}
	}
	if o.SweepError != "" || o.LastSweep == nil || o.Copied == 0 {
		t.Fatalf("/admin/dfs: last sweep %+v, copied %d since the leader's election (%q); want copies", o.LastSweep, o.Copied, o.SweepError)
	}
	t.Logf("/admin/dfs: the leader's sweeps copied %d", o.Copied)
}

// A file server holding copies dies: readers never notice, and within
// 20 s every file is back at R live copies on distinct alive servers,
// each copy on its server's disk.
func TestAFileServerDiesAndItsFilesAreCopiedAgain(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 200, 1)
	f.waitAtR(t, files, 10*time.Second)
	id := f.holder(t)
	killHealed(t, f, files, id)
}

// Two file servers die one after the other (healed in between): with two
// of four left, every file still has R = 2 live copies.
func TestTwoFileServersDieOneAfterTheOther(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 100, 2)
	f.waitAtR(t, files, 10*time.Second)
	first := f.holder(t)
	killHealed(t, f, files, first)
	second := f.holder(t)
	killHealed(t, f, files, second)
}
