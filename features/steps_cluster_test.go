package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

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

func (w *world) kill(who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	w.vars["killed.id"] = w.c.Agents[i].Node().ID()
	w.vars["killed"] = fmt.Sprint(i)
	w.c.Kill(i)
	return nil
}

func (w *world) stop(who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	w.vars["stopped.id"] = w.c.Agents[i].Node().ID()
	w.vars["stopped"] = fmt.Sprint(i)
	w.c.Stop(i)
	return nil
}

func (w *world) restartNamed(name string) error {
	i := atoi(w.vars[name])
	if err := w.c.Restart(i); err != nil {
		return err
	}
	return poll(15*time.Second, func() error {
		if !w.c.Agents[i].Node().Ready() {
			return fmt.Errorf("agent %d is not ready", i+1)
		}
		return nil
	})
}

func (w *world) stopAll() error {
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

func (w *world) newLeader() error {
	l, err := w.c.WaitForLeader(10 * time.Second)
	if err != nil {
		return err
	}
	if id := w.c.Agents[l].Node().ID(); id == w.vars["killed.id"] || id == w.vars["stopped.id"] {
		return fmt.Errorf("the agent that went away still leads")
	}
	return nil
}

func (w *world) converged() error {
	l, err := w.c.WaitForLeader(10 * time.Second)
	if err != nil {
		return err
	}
	return w.c.WaitForIndex(w.c.Agents[l].Node().FSM().AppliedIndex(), 10*time.Second)
}

func (w *world) voters(n int) error {
	return poll(20*time.Second, func() error {
		l := w.c.Leader()
		if l < 0 {
			return fmt.Errorf("no leader")
		}
		if v := w.c.Voters(l); len(v) != n {
			return fmt.Errorf("voters %v, want %d", v, n)
		}
		return nil
	})
}

func (w *world) isVoter(name string, want bool) error {
	id := w.vars[name]
	return poll(20*time.Second, func() error {
		l := w.c.Leader()
		if l < 0 {
			return fmt.Errorf("no leader")
		}
		if got := slices.Contains(w.c.Voters(l), id); got != want {
			return fmt.Errorf("%s voter=%v, want %v (voters %v)", id, got, want, w.c.Voters(l))
		}
		return nil
	})
}

func (w *world) addAgent() error {
	i, err := w.c.Add()
	if err != nil {
		return err
	}
	w.vars["new"] = fmt.Sprint(i)
	w.vars["new.id"] = w.c.Agents[i].Node().ID()
	return nil
}

func (w *world) gossipSays(name, state string) error {
	id := w.vars[name]
	return poll(10*time.Second, func() error {
		l := w.c.Leader()
		if l < 0 {
			return fmt.Errorf("no leader")
		}
		for _, m := range w.c.Agents[l].Node().Members() {
			if m.Name == id {
				if m.State == state {
					return nil
				}
				return fmt.Errorf("%s is %s", id, m.State)
			}
		}
		return fmt.Errorf("%s unknown to gossip", id)
	})
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
		r, err := w.send(i, http.MethodGet, "/admin/raft", nil)
		if err != nil {
			return err
		}
		var st struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(r.body, &st); err != nil {
			return err
		}
		if st.State == "Leader" {
			leaders++
		}
	}
	if leaders != n {
		return fmt.Errorf("%d agents report Leader, want %d", leaders, n)
	}
	return nil
}

func (w *world) killAllBut(who string) error {
	keep, err := w.agent(who)
	if err != nil {
		return err
	}
	w.vars["survivor"] = fmt.Sprint(keep + 1)
	var killed []string
	for i, a := range w.c.Agents {
		if a != nil && i != keep {
			killed = append(killed, fmt.Sprint(i))
			w.c.Kill(i)
		}
	}
	w.vars["dead"] = strings.Join(killed, ",")
	return nil
}

func (w *world) restartDead() error {
	for _, s := range strings.Split(w.vars["dead"], ",") {
		if err := w.c.Restart(atoi(s)); err != nil {
			return err
		}
	}
	_, err := w.c.WaitForLeader(15 * time.Second)
	return err
}

func (w *world) leave(who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	w.vars["leaver.id"] = w.c.Agents[i].Node().ID()
	if w.last, err = w.send(i, http.MethodPost, "/admin/leave", nil); err != nil {
		return err
	}
	if err := w.statusIs(200); err != nil {
		return err
	}
	select {
	case <-w.c.Agents[i].Left():
	case <-time.After(10 * time.Second):
		return fmt.Errorf("agent did not report leaving")
	}
	w.c.Stop(i)
	return nil
}

func clusterSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^a fresh cluster of (\d+) agents$`, func(n int) error { return w.freshCluster(n, nil) })
	sc.Step(`^a fresh cluster of (\d+) agents with a dead-server timeout of (\d+)ms and min-quorum (\d+)$`, func(n, ms, q int) error {
		return w.freshCluster(n, func(_ int, c *agent.Config) {
			c.Cluster.DeadServerTimeout = time.Duration(ms) * time.Millisecond
			c.Cluster.MinQuorum = q
		})
	})
	sc.Step(`^I kill `+who+`$`, w.kill)
	sc.Step(`^I stop `+who+` gracefully$`, w.stop)
	sc.Step(`^I restart the (killed|stopped) agent$`, w.restartNamed)
	sc.Step(`^I stop every agent$`, w.stopAll)
	sc.Step(`^I restart every agent$`, w.restartAll)
	sc.Step(`^I kill every agent but (the leader|a follower)$`, w.killAllBut)
	sc.Step(`^I restart the dead agents$`, w.restartDead)
	sc.Step(`^a new leader is elected$`, w.newLeader)
	sc.Step(`^every agent has applied the leader's index$`, w.converged)
	sc.Step(`^the cluster has (\d+) voters$`, w.voters)
	sc.Step(`^the (killed|stopped|new|leaver) agent is a voter$`, func(n string) error { return w.isVoter(n+".id", true) })
	sc.Step(`^the (killed|stopped|new|leaver) agent is not a voter$`, func(n string) error { return w.isVoter(n+".id", false) })
	sc.Step(`^I start a new agent with a fresh id$`, w.addAgent)
	sc.Step(`^gossip reports the (killed|stopped|leaver) agent as "([^"]*)"$`, func(n, st string) error { return w.gossipSays(n+".id", st) })
	sc.Step(`^every agent answers "(GET|POST)" "([^"]*)" with (\d+)$`, w.everyAgentAnswers)
	sc.Step(`^exactly (\d+) agents? reports? state "Leader"$`, w.leadersReported)
	sc.Step(`^every agent becomes ready$`, func() error {
		return poll(10*time.Second, func() error { return w.everyAgentAnswers(http.MethodGet, "/ready", 200) })
	})
	sc.Step(`^`+who+` leaves the cluster$`, w.leave)
	sc.Step(`^the restarted agent has node id "\$\{killed\.id\}"$`, func() error {
		i := atoi(w.vars["killed"])
		if got := w.c.Agents[i].Node().ID(); got != w.vars["killed.id"] {
			return fmt.Errorf("restarted as %s", got)
		}
		return nil
	})
}
