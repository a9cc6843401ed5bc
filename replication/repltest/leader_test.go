package repltest_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/fsm/fileservers"
)

// The leader agent is killed while its sweep copies: a new leader finishes
// the work, every file ends at R, and the index never lists a copy that
// is not on its (alive) server's disk.
func TestTheLeaderDiesDuringASweep(t *testing.T) {
	f := start(t)
	files := f.writeFiles(t, 200, 3)
	f.waitAtR(t, files, 10*time.Second)
	l := f.leader(t)
	id := f.holder(t)
	t.Logf("killing file server %s, then the leader (agent %d) once a copy is in flight or committed", id, l+1)
	if err := f.c.KillFileServerByID(id); err != nil {
		t.Fatal(err)
	}
	fm := f.c.Agents[l].Node().FSM()
	queued := 0
	agenttest.WaitFor(t, "a copy in flight or committed", 15*time.Second, func() bool {
		if st, ok := fm.Server(id); !ok || st.State != fileservers.StateDead {
			return false
		}
		n := len(fm.ReplicationQueue())
		if n > queued {
			queued = n
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		o, err := f.adminDFS(ctx, l)
		return err == nil && o.InFlight > 0 || queued > 0 && n < queued
	})
	left := len(fm.ReplicationQueue())
	f.killAgent(l)
	t.Logf("leader killed with %d of %d queued files left", left, queued)
	if left == 0 {
		t.Log("the old leader had finished before it died: the test proves less this run")
	}
	nl := f.leader(t)
	t.Logf("agent %d leads", nl+1)
	f.waitAtR(t, files, 20*time.Second)
	// And nothing listed anywhere is missing from its disk, for every
	// agent's index (atR checked the leader's).
	for _, i := range f.live() {
		fm := f.c.Agents[i].Node().FSM()
		agenttest.WaitFor(t, "agent's index to agree", 10*time.Second, func() bool { return len(fm.ReplicationQueue()) == 0 })
		state := map[string]string{}
		for _, s := range fm.Servers() {
			state[s.ID] = s.State
		}
		for _, c := range files {
			fl, _ := fm.FileByName(c.owner, c.name)
			for _, r := range fl.Replicas {
				if state[r] != fileservers.StateAlive {
					continue
				}
				if why := f.onDisk(r, fl.ID, fl.Version, fl.Size, fl.SHA256); why != "" {
					t.Fatalf("agent %d's index: %s: %s", i+1, c.name, why)
				}
			}
		}
	}
	if err := f.restartAgent(l); err != nil {
		t.Fatal(err)
	}
	f.leader(t)
}
