package features

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/keyring"
)

// keyVar is where a scenario's cluster key is remembered (base64), so
// that steps can sign with it and ${cluster.key} can name it.
const keyVar = "cluster.key"

// newKey generates a key list of one key.
func newKey() (string, [][]byte, error) {
	s, err := keyring.Generate()
	if err != nil {
		return "", nil, err
	}
	k, err := keyring.Parse(s)
	return s, k, err
}

// keyedCluster starts n agents sharing a new cluster key; agents added
// later with "I start a new agent" get it too.
func (w *world) keyedCluster(n int) error {
	s, keys, err := newKey()
	if err != nil {
		return err
	}
	w.vars[keyVar] = s
	return w.freshCluster(n, func(_ int, c *agent.Config) { c.Cluster.Keys = keys })
}

// clusterKeys is the scenario's cluster key list.
func (w *world) clusterKeys() ([][]byte, error) {
	s, ok := w.vars[keyVar]
	if !ok {
		return nil, fmt.Errorf("this scenario's cluster has no key")
	}
	return keyring.Parse(s)
}

// stranger starts an agent that tries to join with another key, or none,
// and notes its id as ${stranger.id}.
func (w *world) stranger(which string) error {
	if err := w.mine(); err != nil {
		return err
	}
	var keys [][]byte
	if which == "another key" {
		var err error
		if _, keys, err = newKey(); err != nil {
			return err
		}
	}
	a, err := w.c.AddStranger(func(c *agent.Config) { c.Cluster.Keys = keys })
	if err != nil {
		return err
	}
	w.vars["stranger.id"] = a.Node().ID()
	return nil
}

// staysOut watches for the whole duration that no agent of the cluster
// sees the stranger alive in gossip or has it in its Raft configuration.
func (w *world) staysOut(secs int) error {
	id := w.vars["stranger.id"]
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for time.Now().Before(deadline) {
		for i, a := range w.c.Agents {
			if a == nil {
				continue
			}
			for _, m := range a.Node().Members() {
				if m.Name == id && m.State == "alive" {
					return fmt.Errorf("agent %d sees %s alive in gossip", i+1, id)
				}
			}
			for _, s := range a.Node().Status().Servers {
				if s.ID == id {
					return fmt.Errorf("%s is in agent %d's Raft configuration", id, i+1)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// signer returns the signer a step names.
func (w *world) signer(how string) (*keyring.Signer, error) {
	switch how {
	case "another key":
		_, keys, err := newKey()
		return keyring.NewSigner(keys), err
	}
	keys, err := w.clusterKeys()
	if err != nil {
		return nil, err
	}
	s := keyring.NewSigner(keys)
	if how == "a stale time" {
		s = s.WithClock(func() time.Time { return time.Now().Add(-time.Minute) })
	}
	return s, nil
}

// sendSigned sends one request to agent i signed as how says.
func (w *world) sendSigned(i int, method, path, how string, body *godog.DocString) (*response, error) {
	s, err := w.signer(how)
	if err != nil {
		return nil, err
	}
	if path, err = w.expand(path); err != nil {
		return nil, err
	}
	var r io.Reader
	if body != nil {
		b, err := w.expand(body.Content)
		if err != nil {
			return nil, err
		}
		r = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(w.ctx, method, w.c.URL(i)+path, r)
	if err != nil {
		return nil, err
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := s.Sign(req); err != nil {
		return nil, err
	}
	return w.exchange(req)
}

func (w *world) signedRequest(method, path, who, how string, body *godog.DocString) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	w.asked = i
	w.last, err = w.sendSigned(i, method, path, how, body)
	return err
}

// leaveWithKey is "leaves the cluster" for a keyed cluster: the operator
// signs /admin/leave as `custodes leave --encrypt` does.
func (w *world) leaveWithKey(who string) error {
	return w.leaveVia(who, func(i int) (*response, error) {
		return w.sendSigned(i, http.MethodPost, "/admin/leave", "the cluster key", nil)
	})
}

func securitySteps(sc *godog.ScenarioContext, w *world) {
	const method = `"(GET|POST|PUT|DELETE|PATCH)"`
	const signed = ` signed with (the cluster key|another key|a stale time)`
	sc.Step(`^`+freshStep+`(\d+) agents sharing a cluster key$`, w.keyedCluster)
	sc.Step(`^I start an agent with (another key|no key)$`, w.stranger)
	sc.Step(`^the stranger stays out of the cluster for (\d+) seconds?$`, w.staysOut)
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+signed+`$`, func(m, p, who, how string) error {
		return w.signedRequest(m, p, who, how, nil)
	})
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+signed+` with body:$`, w.signedRequest)
	sc.Step(`^`+who+` leaves the cluster with the cluster key$`, w.leaveWithKey)
}
