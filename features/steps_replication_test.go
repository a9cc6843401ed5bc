package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/fileservers"
)

// The replication sweep's steps (issue 10, replication.feature): a fresh
// file system whose leader sweeps every few hundred milliseconds, and
// checks of the leader's index.

// sweepingFileSystem starts a fresh file system whose sweep runs every ms
// milliseconds.
func (d *dfsWorld) sweepingFileSystem(agents, servers, ms int, u1, u2, u3 string) error {
	users := []string{u1, u2, u3}
	c, tokens, err := agenttest.StartFileSystem(agents, users, agenttest.Options{
		FileServers: servers,
		Configure: func(i int, cfg *agent.Config) {
			cfg.Directory.MaxFileSize = dfsMaxFileSize
			cfg.Replication.Interval = time.Duration(ms) * time.Millisecond
			cfg.Replication.ProbeTimeout = 300 * time.Millisecond
		},
	})
	if err != nil {
		return err
	}
	if d.w.fresh && d.w.c != nil {
		d.w.c.Shutdown()
	}
	d.w.c, d.w.fresh, d.users = c, true, users
	for name, tok := range tokens {
		d.w.vars[name] = tok
	}
	return nil
}

// leaderFSM is the index of the agent that leads now.
func (d *dfsWorld) leaderFSM() (*fsm.FSM, error) {
	l, err := d.w.c.WaitForLeader(10 * time.Second)
	if err != nil {
		return nil, err
	}
	return d.w.c.Agents[l].Node().FSM(), nil
}

// everyFileAtR waits until the replication queue is empty and every file
// has n replicas on alive servers, none of them the killed one.
func (d *dfsWorld) everyFileAtR(seconds, n int) error {
	return poll(time.Duration(seconds)*time.Second, func() error {
		f, err := d.leaderFSM()
		if err != nil {
			return err
		}
		if q := f.ReplicationQueue(); len(q) > 0 {
			return fmt.Errorf("%d files are short of copies", len(q))
		}
		state := map[string]string{}
		for _, s := range f.Servers() {
			state[s.ID] = s.State
		}
		for _, u := range d.users {
			for _, fa := range f.FilesOf(u) {
				live := 0
				for _, r := range fa.File.Replicas {
					if state[r] == fileservers.StateAlive && r != d.killed {
						live++
					}
				}
				if live != n {
					return fmt.Errorf("%s has replicas %v, %d live; want %d", fa.File.Name, fa.File.Replicas, live, n)
				}
			}
		}
		return nil
	})
}

// ringReformed checks that the ring closed over the killed server: every
// file is backed up on the next alive server after its primary on the
// ring (the killed server's predecessor's files on its successor, the
// killed server's own files on the successor of their former backup).
func (d *dfsWorld) ringReformed() error {
	f, err := d.leaderFSM()
	if err != nil {
		return err
	}
	var ring []string // alive servers in ring order
	for _, s := range f.Servers() {
		if s.State == fileservers.StateAlive {
			ring = append(ring, s.ID)
		}
	}
	for _, u := range d.users {
		for _, fa := range f.FilesOf(u) {
			r := fa.File.Replicas
			if fa.Access != "owner" || len(r) < 2 {
				continue
			}
			p := slices.Index(ring, r[0])
			if p < 0 {
				return fmt.Errorf("%s's primary %s is not alive (%v)", fa.File.Name, r[0], r)
			}
			if next := ring[(p+1)%len(ring)]; r[1] != next {
				return fmt.Errorf("%s is on %v: its backup is not %s, the next alive server after %s on the ring %v", fa.File.Name, r, next, r[0], ring)
			}
		}
	}
	return nil
}

// drain asks the leader to drain the file server, as root.
func (d *dfsWorld) drain(id string) error {
	// As a client should (Resend): a 503 is sent again; a retry refused
	// because the server is no longer alive finds the first attempt
	// applied when the index says so.
	status, retried, err := d.w.c.Resend(5, func(l int) (int, error) {
		r, err := d.send(l, "root", http.MethodPost, "/admin/dfs/drain", []byte(`{"server":"`+id+`"}`), http.Header{"Content-Type": {"application/json"}})
		d.w.last = r
		return r.status, err
	})
	if err != nil {
		return err
	}
	if status == http.StatusConflict && retried {
		if f, err := d.leaderFSM(); err == nil {
			if s, ok := f.Server(id); ok && (s.State == fileservers.StateDraining || s.State == fileservers.StateLeft) {
				return nil
			}
		}
	}
	if status != http.StatusOK {
		return fmt.Errorf("drain %s: %d %s", id, status, d.w.last.body)
	}
	return nil
}

// serverEnds waits until the file server is in state and no file lists it.
func (d *dfsWorld) serverEnds(seconds int, id, state string) error {
	return poll(time.Duration(seconds)*time.Second, func() error {
		f, err := d.leaderFSM()
		if err != nil {
			return err
		}
		s, ok := f.Server(id)
		if !ok || s.State != state {
			return fmt.Errorf("%s is %q", id, s.State)
		}
		if on := f.FilesOn(id); len(on) > 0 {
			return fmt.Errorf("%d files still list %s", len(on), id)
		}
		return nil
	})
}

func replicationSteps(sc *godog.ScenarioContext, d *dfsWorld) {
	users := `with users "([^"]*)", "([^"]*)" and "([^"]*)"$`
	sc.Step(`^a fresh file system of (\d+) agents and (\d+) file servers sweeping every (\d+)ms `+users, d.sweepingFileSystem)
	sc.Step(`^within (\d+) seconds every file has (\d+) live copies, none on the killed file server$`, d.everyFileAtR)
	sc.Step(`^the ring re-forms: every file is backed up on the next alive file server after its primary$`, d.ringReformed)
	sc.Step(`^the file server "([^"]*)" is drained$`, d.drain)
	sc.Step(`^the file server "([^"]*)" is killed$`, func(id string) error { return d.w.c.KillFileServerByID(id) })
	sc.Step(`^the file server "([^"]*)" is restarted$`, func(id string) error {
		i := d.w.c.FileServerIndex(id)
		if i < 0 {
			return fmt.Errorf("no file server %q", id)
		}
		return d.w.c.RestartFileServer(i)
	})
	sc.Step(`^within (\d+) seconds the administrator's view counts (\d+) lost files?$`, d.lostCount)
	sc.Step(`^within (\d+) seconds the file server "([^"]*)" is "([^"]*)" and no file lists it$`, d.serverEnds)
	sc.Step(`^the file server "([^"]*)" is marked dead while it runs$`, d.markDead)
	sc.Step(`^every file server's gossip falls silent while it serves$`, d.silenceGossip)
	sc.Step(`^within (\d+) seconds gossip on the leader reports no file server alive$`, d.noGossipAlive)
	sc.Step(`^within (\d+) seconds the file server "([^"]*)" is "([^"]*)"$`, d.serverIs)
}

// silenceGossip stops every file server's gossip; they go on serving.
func (d *dfsWorld) silenceGossip() error {
	for i := range d.w.c.FileServers() {
		if err := d.w.c.SilenceFileServerGossip(i); err != nil {
			return err
		}
	}
	return nil
}

// noGossipAlive waits until the leader's gossip reports no file server
// alive.
func (d *dfsWorld) noGossipAlive(seconds int) error {
	return poll(time.Duration(seconds)*time.Second, func() error {
		l, err := d.w.c.WaitForLeader(10 * time.Second)
		if err != nil {
			return err
		}
		for _, m := range d.w.c.Agents[l].Node().Members() {
			if m.Role == gossip.RoleFile && m.State == gossip.StateAlive {
				return fmt.Errorf("gossip still reports %s alive", m.Name)
			}
		}
		return nil
	})
}

// markDead commits a running file server dead through the leader, as the
// sweep does for one it could not reach.
func (d *dfsWorld) markDead(id string) error {
	l, err := d.w.c.WaitForLeader(10 * time.Second)
	if err != nil {
		return err
	}
	_, err = d.w.c.Agents[l].Node().Propose(d.w.ctx, fsm.DFSSetServerStateRequestType,
		&fileservers.SetStateRequest{ID: id, State: fileservers.StateDead})
	return err
}

// serverIs waits until the leader's index holds server id in state.
func (d *dfsWorld) serverIs(seconds int, id, state string) error {
	return poll(time.Duration(seconds)*time.Second, func() error {
		f, err := d.leaderFSM()
		if err != nil {
			return err
		}
		if s, ok := f.Server(id); !ok || s.State != state {
			return fmt.Errorf("%s is %q", id, s.State)
		}
		return nil
	})
}

// lostCount polls /admin/dfs on the leader until it counts n lost files.
func (d *dfsWorld) lostCount(seconds, n int) error {
	return poll(time.Duration(seconds)*time.Second, func() error {
		l, err := d.w.agent("the leader")
		if err != nil {
			return err
		}
		r, err := d.send(l, "root", http.MethodGet, "/admin/dfs", nil, nil)
		if err != nil {
			return err
		}
		var o struct {
			Lost int `json:"lost"`
		}
		if err := json.Unmarshal(r.body, &o); err != nil || r.status != http.StatusOK {
			return fmt.Errorf("/admin/dfs: %d %s", r.status, r.body)
		}
		if o.Lost != n {
			return fmt.Errorf("%d lost files, want %d", o.Lost, n)
		}
		return nil
	})
}
