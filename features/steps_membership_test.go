package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cucumber/godog"
)

func (w *world) addAgent() error {
	i, err := w.c.Add()
	if err != nil {
		return err
	}
	w.vars["new"] = strconv.Itoa(i + 1)
	w.vars["new.id"] = w.nodeID(i)
	return nil
}

func (w *world) gossipSays(role, state string) error {
	id := w.vars[role+".id"]
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

// leaderSees waits until the leader's /admin/health view has every
// server healthy (id "") or the server id as not healthy.
func (w *world) leaderSees(id string) error {
	return poll(10*time.Second, func() error {
		l := w.c.Leader()
		if l < 0 {
			return fmt.Errorf("no leader")
		}
		r, err := w.send(l, http.MethodGet, "/admin/health", nil)
		if err != nil {
			return err
		}
		var h struct {
			Servers []struct {
				ID      string `json:"id"`
				Healthy bool   `json:"healthy"`
			} `json:"servers"`
		}
		if err := json.Unmarshal(r.body, &h); err != nil || len(h.Servers) == 0 {
			return fmt.Errorf("/admin/health %d: %s", r.status, r.body)
		}
		for _, s := range h.Servers {
			if id == "" && !s.Healthy || id != "" && s.ID == id && !s.Healthy {
				if id == "" {
					return fmt.Errorf("the leader sees %s as unhealthy: %s", s.ID, r.body)
				}
				return nil
			}
		}
		if id == "" {
			return nil
		}
		return fmt.Errorf("the leader does not see %s as unhealthy: %s", id, r.body)
	})
}

func (w *world) leave(who string) error {
	return w.leaveVia(who, func(i int) (*response, error) {
		return w.send(i, http.MethodPost, "/admin/leave", nil)
	})
}

// leaveVia has agent who leave through send (plain or signed), waits for
// it to report leaving, and stops it.
func (w *world) leaveVia(who string, send func(i int) (*response, error)) error {
	i, err := w.gone("leaver", who)
	if err != nil {
		return err
	}
	if w.last, err = send(i); err != nil {
		return err
	}
	if err := w.statusIs(http.StatusOK); err != nil {
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

func membershipSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^I start a new agent with a fresh id$`, w.addAgent)
	sc.Step(`^gossip reports the (killed|stopped|leaver) agent as "([^"]*)"$`, w.gossipSays)
	sc.Step(`^the leader sees every agent as healthy$`, func() error { return w.leaderSees("") })
	sc.Step(`^the leader sees the (killed|stopped) agent as unhealthy$`, func(r string) error { return w.leaderSees(w.vars[r+".id"]) })
	sc.Step(`^`+who+` leaves the cluster$`, w.leave)
}
