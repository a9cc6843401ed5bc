package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

// raftView is the body of GET /admin/raft, as far as the steps need it.
type raftView struct {
	NodeID    string `json:"node_id"`
	State     string `json:"state"`
	LastIndex uint64 `json:"last_index"`
	// FSMIndex is the last command applied: an election appends no-op and
	// barrier entries to the log, but no command.
	FSMIndex uint64 `json:"fsm_index"`
	Servers  []struct {
		ID       string `json:"id"`
		Suffrage string `json:"suffrage"`
	} `json:"servers"`
}

func (w *world) raftOf(i int) (raftView, error) {
	var v raftView
	r, err := w.send(i, http.MethodGet, "/admin/raft", nil)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(r.body, &v); err != nil || r.status != http.StatusOK {
		return v, fmt.Errorf("agent %d: /admin/raft %d %s", i+1, r.status, r.body)
	}
	return v, nil
}

// voterIDs are the sorted voters in the leader's Raft configuration.
func (w *world) voterIDs() ([]string, error) {
	l := w.c.Leader()
	if l < 0 {
		return nil, fmt.Errorf("no leader")
	}
	v, err := w.raftOf(l)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range v.Servers {
		if s.Suffrage == "Voter" {
			ids = append(ids, s.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (w *world) freshCluster(n int, configure func(int, *agent.Config)) error {
	c, err := agenttest.Start(n, agenttest.Options{Configure: configure})
	if err != nil {
		return err
	}
	if w.fresh {
		w.c.Shutdown()
	}
	w.c, w.fresh = c, true
	return nil
}

// mine refuses to take agents of the shared cluster down.
func (w *world) mine() error {
	if !w.fresh {
		return fmt.Errorf("only a @fresh scenario may stop or kill agents")
	}
	return nil
}

// gone notes agent i as "<role>" (its 1-based number) and "<role>.id".
func (w *world) gone(role, who string) (int, error) {
	if err := w.mine(); err != nil {
		return -1, err
	}
	i, err := w.agent(who)
	if err != nil {
		return -1, err
	}
	w.vars[role] = strconv.Itoa(i + 1)
	w.vars[role+".id"] = w.nodeID(i)
	return i, nil
}

func (w *world) kill(who string) error {
	i, err := w.gone("killed", who)
	if err == nil {
		w.c.Kill(i)
	}
	return err
}

func (w *world) stop(who string) error {
	i, err := w.gone("stopped", who)
	if err == nil {
		w.c.Stop(i)
	}
	return err
}

// restart starts agent i again from its data dir and waits until it
// answers /ready.
func (w *world) restart(i int) error {
	if err := w.c.Restart(i); err != nil {
		return err
	}
	return poll(15*time.Second, func() error {
		r, err := w.send(i, http.MethodGet, "/ready", nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("agent %d is not ready: %s", i+1, r.body)
		}
		return nil
	})
}

func (w *world) stopAll() error {
	if err := w.mine(); err != nil {
		return err
	}
	for i := range w.c.Agents {
		w.c.Stop(i)
	}
	return nil
}

func (w *world) restartAll() error {
	for i := range w.c.Agents {
		if err := w.c.Restart(i); err != nil {
			return err
		}
	}
	_, err := w.c.WaitForLeader(15 * time.Second)
	return err
}

func (w *world) killAllBut(who string) error {
	if err := w.mine(); err != nil {
		return err
	}
	keep, err := w.agent(who)
	if err != nil {
		return err
	}
	w.vars["survivor"] = strconv.Itoa(keep + 1)
	var dead []string
	for i, a := range w.c.Agents {
		if a != nil && i != keep {
			dead = append(dead, strconv.Itoa(i))
			w.c.Kill(i)
		}
	}
	w.vars["dead"] = strings.Join(dead, ",")
	return nil
}

func (w *world) restartDead() error {
	for _, s := range strings.Split(w.vars["dead"], ",") {
		i, _ := strconv.Atoi(s)
		if err := w.c.Restart(i); err != nil {
			return err
		}
	}
	_, err := w.c.WaitForLeader(15 * time.Second)
	return err
}

func (w *world) newLeader() error {
	l, err := w.c.WaitForLeader(10 * time.Second)
	if err != nil {
		return err
	}
	if id := w.nodeID(l); id == w.vars["killed.id"] || id == w.vars["stopped.id"] {
		return fmt.Errorf("the agent that went away still leads")
	}
	return nil
}

// converged waits until every running agent has applied the leader's index.
func (w *world) converged() error {
	l, err := w.c.WaitForLeader(10 * time.Second)
	if err != nil {
		return err
	}
	return w.c.WaitForIndex(w.c.Agents[l].Node().FSM().AppliedIndex(), 10*time.Second)
}

func (w *world) voters(n int) error {
	return poll(20*time.Second, func() error {
		ids, err := w.voterIDs()
		if err == nil && len(ids) != n {
			err = fmt.Errorf("voters %v, want %d", ids, n)
		}
		return err
	})
}

func (w *world) isVoter(role string, want bool) error {
	id := w.vars[role+".id"]
	return poll(20*time.Second, func() error {
		ids, err := w.voterIDs()
		if err == nil && slices.Contains(ids, id) != want {
			err = fmt.Errorf("%s voter=%v, want %v (voters %v)", id, !want, want, ids)
		}
		return err
	})
}

func (w *world) noteVoters(name string) error {
	ids, err := w.voterIDs()
	w.vars[name] = strings.Join(ids, ",")
	return err
}

func (w *world) votersStill(name string) error {
	return poll(20*time.Second, func() error {
		ids, err := w.voterIDs()
		if got := strings.Join(ids, ","); err == nil && got != w.vars[name] {
			err = fmt.Errorf("voters are %s, were %s", got, w.vars[name])
		}
		return err
	})
}

func (w *world) noteLastIndex(name string) error {
	l, err := w.agent("the leader")
	if err != nil {
		return err
	}
	v, err := w.raftOf(l)
	w.vars[name] = strconv.FormatUint(v.FSMIndex, 10)
	return err
}

func (w *world) lastIndexStill(name string) error {
	l, err := w.agent("the leader")
	if err != nil {
		return err
	}
	v, err := w.raftOf(l)
	if err != nil {
		return err
	}
	if got := strconv.FormatUint(v.FSMIndex, 10); got != w.vars[name] {
		return fmt.Errorf("the leader's last applied command moved from %s to %s: a rejected write reached the log", w.vars[name], got)
	}
	return nil
}

func (w *world) everyAgentAnswers(method, path string, code int) error {
	for i, a := range w.c.Agents {
		if a == nil {
			continue
		}
		r, err := w.send(i, method, path, nil)
		if err != nil {
			return err
		}
		if r.status != code {
			return fmt.Errorf("agent %d: %d, want %d: %s", i+1, r.status, code, r.body)
		}
	}
	return nil
}

func (w *world) leadersReported(n int) error {
	leaders := 0
	for i, a := range w.c.Agents {
		if a == nil {
			continue
		}
		v, err := w.raftOf(i)
		if err != nil {
			return err
		}
		if v.State == "Leader" {
			leaders++
		}
	}
	if leaders != n {
		return fmt.Errorf("%d agents report Leader, want %d", leaders, n)
	}
	return nil
}

func clusterSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^`+freshStep+`(\d+) agents$`, func(n int) error { return w.freshCluster(n, nil) })
	sc.Step(`^`+freshStep+`(\d+) agents with the profiler enabled$`, func(n int) error {
		return w.freshCluster(n, func(_ int, c *agent.Config) { c.API.EnableDebug = true })
	})
	sc.Step(`^`+freshStep+`(\d+) agents with a dead-server timeout of (\d+)ms and min-quorum (\d+)$`, func(n, ms, q int) error {
		return w.freshCluster(n, func(_ int, c *agent.Config) {
			c.Cluster.DeadServerTimeout = time.Duration(ms) * time.Millisecond
			c.Cluster.MinQuorum = q
		})
	})
	sc.Step(`^I kill `+who+`$`, w.kill)
	sc.Step(`^I stop `+who+` gracefully$`, w.stop)
	sc.Step(`^I restart the (killed|stopped) agent$`, func(role string) error {
		i, _ := strconv.Atoi(w.vars[role])
		return w.restart(i - 1)
	})
	sc.Step(`^I stop every agent$`, w.stopAll)
	sc.Step(`^I restart every agent$`, w.restartAll)
	sc.Step(`^I kill every agent but (the leader|a follower)$`, w.killAllBut)
	sc.Step(`^I restart the dead agents$`, w.restartDead)
	sc.Step(`^a new leader is elected$`, w.newLeader)
	sc.Step(`^every agent has applied the leader's index$`, w.converged)
	sc.Step(`^the cluster has (\d+) voters$`, w.voters)
	sc.Step(`^the (killed|stopped|new|leaver) agent is a voter$`, func(r string) error { return w.isVoter(r, true) })
	sc.Step(`^the (killed|stopped|new|leaver) agent is not a voter$`, func(r string) error { return w.isVoter(r, false) })
	sc.Step(`^I note the voters as "([^"]*)"$`, w.noteVoters)
	sc.Step(`^the voters are still those noted as "([^"]*)"$`, w.votersStill)
	sc.Step(`^I note the leader's last Raft index as "([^"]*)"$`, w.noteLastIndex)
	sc.Step(`^the leader's last Raft index is still "([^"]*)"$`, w.lastIndexStill)
	sc.Step(`^every agent answers "(GET|POST)" "([^"]*)" with (\d+)$`, w.everyAgentAnswers)
	sc.Step(`^exactly (\d+) agents? reports? state "Leader"$`, w.leadersReported)
	sc.Step(`^every agent becomes ready$`, func() error {
		return poll(10*time.Second, func() error { return w.everyAgentAnswers(http.MethodGet, "/ready", 200) })
	})
}
