package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cucumber/godog"
)

// wipe deregisters every instance through the API, so a scenario on the
// shared cluster starts from an empty registry.
func (w *world) wipe() error {
	l, err := w.agent("the leader")
	if err != nil {
		return err
	}
	for {
		resp, err := w.send(l, http.MethodGet, "/services?per_page=1000", nil)
		if err != nil {
			return err
		}
		var list struct {
			Services []struct {
				Instances []struct {
					ID string `json:"id"`
				} `json:"instances"`
			} `json:"services"`
			Total int `json:"total"`
		}
		if err := json.Unmarshal(resp.body, &list); err != nil {
			return err
		}
		if list.Total == 0 {
			break
		}
		for _, s := range list.Services {
			for _, in := range s.Instances {
				if r, err := w.send(l, http.MethodDelete, "/instance/"+in.ID, nil); err != nil || (r.status != 200 && r.status != 404) {
					return fmt.Errorf("wipe %s: %v %v", in.ID, err, r)
				}
			}
		}
	}
	return w.c.WaitForIndex(w.c.Agents[l].Node().FSM().AppliedIndex(), 10*time.Second)
}

func (w *world) register(name, version, addr, who string) error {
	if who == "" {
		who = "the leader"
	}
	body := map[string]string{"name": name, "address": addr}
	if version != "" {
		body["version"] = version
	}
	b, _ := json.Marshal(body)
	return w.request(http.MethodPost, "/register", who, &godog.DocString{Content: string(b)})
}

func (w *world) reported(change string) error {
	got, err := w.json()
	if err != nil {
		return err
	}
	if c, _ := lookup(got, "change"); c != change {
		return fmt.Errorf("change %v, want %q: %s", c, change, w.last.body)
	}
	return nil
}

func (w *world) registerTable(t *godog.Table) error {
	for _, row := range t.Rows[1:] {
		name, version, addr := row.Cells[0].Value, row.Cells[1].Value, row.Cells[2].Value
		if err := w.register(name, version, addr, "a follower"); err != nil {
			return err
		}
		if err := w.statusIs(201); err != nil {
			return fmt.Errorf("%s %s at %s: %w", name, version, addr, err)
		}
		if err := w.reported("created"); err != nil {
			return err
		}
	}
	return nil
}

// finds checks a lookup through a follower: n instances, each of that
// name (and version, if given); none is a 404.
func (w *world) finds(name, version string, n int) error {
	path := "/service/" + name
	if version != "" {
		path += "?version=" + url.QueryEscape(version)
	}
	if err := w.request(http.MethodGet, path, "a follower", nil); err != nil {
		return err
	}
	if n == 0 {
		return w.statusIs(http.StatusNotFound)
	}
	if err := w.statusIs(http.StatusOK); err != nil {
		return err
	}
	var ans struct {
		Instances []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(w.last.body, &ans); err != nil {
		return err
	}
	if len(ans.Instances) != n {
		return fmt.Errorf("found %d instances, want %d: %s", len(ans.Instances), n, w.last.body)
	}
	for _, in := range ans.Instances {
		if in.Name != name || (version != "" && in.Version != version) {
			return fmt.Errorf("found %s %s looking for %s %s", in.Name, in.Version, name, version)
		}
	}
	return nil
}

func (w *world) everyAgentFinds(n int, name string) error {
	for i, a := range w.c.Agents {
		if a == nil {
			continue
		}
		r, err := w.send(i, http.MethodGet, "/service/"+name, nil)
		if err != nil {
			return err
		}
		if n == 0 && r.status != 404 {
			return fmt.Errorf("agent %d: status %d, want 404", i+1, r.status)
		}
		if n > 0 {
			var ans struct {
				Instances []any `json:"instances"`
			}
			_ = json.Unmarshal(r.body, &ans)
			if r.status != 200 || len(ans.Instances) != n {
				return fmt.Errorf("agent %d: status %d with %d instances, want %d: %s", i+1, r.status, len(ans.Instances), n, r.body)
			}
		}
	}
	return nil
}

func (w *world) instanceGone(id string) error {
	for i, a := range w.c.Agents {
		if a == nil {
			continue
		}
		r, err := w.send(i, http.MethodGet, "/instance/"+id, nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusNotFound {
			return fmt.Errorf("agent %d still has %s (%d)", i+1, id, r.status)
		}
	}
	return nil
}

// rotates: repeated lookups hand out every registered address.
func (w *world) rotates(name string, n int) error {
	seen := map[string]bool{}
	for range 3 * n {
		if err := w.request(http.MethodGet, "/service/"+name, "the leader", nil); err != nil {
			return err
		}
		got, err := w.json()
		if err != nil {
			return err
		}
		a, _ := lookup(got, "address")
		seen[fmt.Sprint(a)] = true
	}
	if len(seen) != n {
		return fmt.Errorf("lookups handed out %d distinct addresses, want %d: %v", len(seen), n, seen)
	}
	return nil
}

func (w *world) raftLastIndex(name string) error {
	l, err := w.agent("the leader")
	if err != nil {
		return err
	}
	w.vars[name] = fmt.Sprint(w.c.Agents[l].Node().Status().LastIndex)
	return nil
}

func (w *world) raftLastIndexStill(name string) error {
	l, err := w.agent("the leader")
	if err != nil {
		return err
	}
	if got := fmt.Sprint(w.c.Agents[l].Node().Status().LastIndex); got != w.vars[name] {
		return fmt.Errorf("the leader's last index moved from %s to %s: a rejected write reached the log", w.vars[name], got)
	}
	return nil
}

func registrySteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^the registry is empty$`, w.wipe)
	sc.Step(`^I register "([^"]*)" version "([^"]*)" at "([^"]*)"$`, func(n, v, a string) error { return w.register(n, v, a, "") })
	sc.Step(`^I register "([^"]*)" at "([^"]*)"$`, func(n, a string) error { return w.register(n, "", a, "") })
	sc.Step(`^I register "([^"]*)" at "([^"]*)" through `+who+`$`, func(n, a, who string) error { return w.register(n, "", a, who) })
	sc.Step(`^it is reported "([^"]*)"$`, w.reported)
	sc.Step(`^I register these instances:$`, w.registerTable)
	sc.Step(`^searching for "([^"]*)" version "([^"]*)" finds (\d+) instances?$`, w.finds)
	sc.Step(`^searching for "([^"]*)" finds (\d+) instances?$`, func(n string, k int) error { return w.finds(n, "", k) })
	sc.Step(`^every agent finds (\d+) instances? of "([^"]*)"$`, w.everyAgentFinds)
	sc.Step(`^the instance "([^"]*)" is gone from every agent$`, func(id string) error {
		id, err := w.expand(id)
		if err != nil {
			return err
		}
		return w.instanceGone(id)
	})
	sc.Step(`^repeated lookups of "([^"]*)" hand out all (\d+) addresses$`, w.rotates)
	sc.Step(`^I note the leader's last Raft index as "([^"]*)"$`, w.raftLastIndex)
	sc.Step(`^the leader's last Raft index is still "([^"]*)"$`, w.raftLastIndexStill)
}
