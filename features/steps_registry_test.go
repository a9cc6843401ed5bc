package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/cucumber/godog"
)

// catalog is the body of GET /services, as far as the steps need it.
type catalog struct {
	Services []struct {
		Name      string `json:"name"`
		Instances []struct {
			ID string `json:"id"`
		} `json:"instances"`
	} `json:"services"`
	Total int `json:"total"`
}

// lookupAnswer is the body of GET /service/{name}.
type lookupAnswer struct {
	Address   string     `json:"address"`
	Instances []instance `json:"instances"`
}

type instance struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Address string `json:"address"`
}

// wipe deregisters every instance through the API, then waits until every
// agent has applied the leader's index: the scenario starts from an empty
// registry on every replica.
func (w *world) wipe() error {
	l, err := w.agent("the leader")
	if err != nil {
		return err
	}
	err = poll(10*time.Second, func() error {
		resp, err := w.send(l, http.MethodGet, "/services?per_page=1000", nil)
		if err != nil {
			return err
		}
		var list catalog
		if err := json.Unmarshal(resp.body, &list); err != nil {
			return fmt.Errorf("wipe: list services: %d %s", resp.status, resp.body)
		}
		if list.Total == 0 {
			return nil
		}
		for _, s := range list.Services {
			for _, in := range s.Instances {
				r, err := w.send(l, http.MethodDelete, "/instance/"+in.ID, nil)
				if err != nil {
					return err
				}
				if r.status != http.StatusOK && r.status != http.StatusNotFound {
					return fmt.Errorf("wipe %s: %d %s", in.ID, r.status, r.body)
				}
			}
		}
		return fmt.Errorf("wipe: %d services were left", list.Total)
	})
	if err != nil {
		return err
	}
	return w.converged()
}

// emptyEverywhere checks that every running agent lists no service.
func (w *world) emptyEverywhere() error {
	for i, a := range w.c.Agents {
		if a == nil {
			continue
		}
		r, err := w.send(i, http.MethodGet, "/services", nil)
		if err != nil {
			return err
		}
		var list catalog
		if err := json.Unmarshal(r.body, &list); err != nil || list.Total != 0 {
			return fmt.Errorf("agent %d is not empty: %d %s", i+1, r.status, r.body)
		}
	}
	return nil
}

func (w *world) register(name, version, addr, who string) error {
	body := map[string]string{"name": name, "address": addr}
	if version != "" {
		body["version"] = version
	}
	b, _ := json.Marshal(body)
	return w.request(http.MethodPost, "/register", who, &godog.DocString{Content: string(b)})
}

func (w *world) reported(change string) error {
	if c, err := w.field("change"); err != nil || c != change {
		return fmt.Errorf("change %v, want %q: %s", c, change, w.last.body)
	}
	return nil
}

func (w *world) reportedVersion(change string, n int) error {
	if err := w.reported(change); err != nil {
		return err
	}
	if v, err := w.field("change_version"); err != nil || v != float64(n) {
		return fmt.Errorf("change_version %v, want %d: %s", v, n, w.last.body)
	}
	return nil
}

// registerTable registers every row through a follower; each must be
// reported "created".
func (w *world) registerTable(t *godog.Table) error {
	for _, row := range t.Rows[1:] {
		name, version, addr := row.Cells[0].Value, row.Cells[1].Value, row.Cells[2].Value
		if err := w.register(name, version, addr, "a follower"); err != nil {
			return err
		}
		if err := w.statusIs(http.StatusCreated); err != nil {
			return fmt.Errorf("%s %s at %s: %w", name, version, addr, err)
		}
		if err := w.reported("created"); err != nil {
			return err
		}
	}
	return nil
}

// finds looks a service up through a follower: n instances, each of that
// name (and version, if given); finding none is a 404.
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
	var ans lookupAnswer
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

// everyAgentFinds reads from every running agent at once, with no waiting:
// a default read must see every write acknowledged before it.
func (w *world) everyAgentFinds(n int, name string) error {
	for i, a := range w.c.Agents {
		if a == nil {
			continue
		}
		r, err := w.send(i, http.MethodGet, "/service/"+name, nil)
		if err != nil {
			return err
		}
		if n == 0 {
			if r.status != http.StatusNotFound {
				return fmt.Errorf("agent %d: status %d, want 404", i+1, r.status)
			}
			continue
		}
		var ans lookupAnswer
		_ = json.Unmarshal(r.body, &ans)
		if r.status != http.StatusOK || len(ans.Instances) != n {
			return fmt.Errorf("agent %d: status %d with %d instances, want %d: %s", i+1, r.status, len(ans.Instances), n, r.body)
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

// rotates: every lookup's "address" is one of its instances' addresses,
// and repeated lookups hand out all n of them.
func (w *world) rotates(name string, n int) error {
	seen := map[string]bool{}
	for range 2 * n {
		if err := w.request(http.MethodGet, "/service/"+name, "the leader", nil); err != nil {
			return err
		}
		var ans lookupAnswer
		if err := json.Unmarshal(w.last.body, &ans); err != nil {
			return err
		}
		if !slices.ContainsFunc(ans.Instances, func(in instance) bool {
			return in.Address == ans.Address
		}) {
			return fmt.Errorf("address %q is none of the instances': %s", ans.Address, w.last.body)
		}
		seen[ans.Address] = true
	}
	if len(seen) != n {
		return fmt.Errorf("lookups handed out %d distinct addresses, want %d: %v", len(seen), n, seen)
	}
	return nil
}

func (w *world) remember(path, name string) error {
	v, err := w.field(path)
	if err != nil {
		return err
	}
	w.vars[name] = fmt.Sprint(v)
	return nil
}

func (w *world) rememberHeader(header, name string) error {
	v := w.last.header.Get(header)
	if v == "" {
		return fmt.Errorf("header %s is missing", header)
	}
	w.vars[name] = v
	return nil
}

func registrySteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^the registry is empty$`, w.emptyEverywhere)
	sc.Step(`^I register "([^"]*)" version "([^"]*)" at "([^"]*)"$`, func(n, v, a string) error { return w.register(n, v, a, "the leader") })
	sc.Step(`^I register "([^"]*)" at "([^"]*)"$`, func(n, a string) error { return w.register(n, "", a, "the leader") })
	sc.Step(`^I register "([^"]*)" at "([^"]*)" through `+who+`$`, func(n, a, who string) error { return w.register(n, "", a, who) })
	sc.Step(`^I register these instances:$`, w.registerTable)
	sc.Step(`^I register (\d+) instances of "([^"]*)" concurrently through `+who+`$`, w.registerConcurrently)
	sc.Step(`^each was created with its own id$`, w.eachCreated)
	sc.Step(`^each instance reads back its own address through `+who+`$`, w.eachReadsBack)
	sc.Step(`^I update the instance "([^"]*)" to version "([^"]*)"$`, func(id, v string) error {
		return w.request(http.MethodPut, "/instance/"+id, "a follower", &godog.DocString{Content: fmt.Sprintf(`{"version": %q}`, v)})
	})
	sc.Step(`^I remove the instance "([^"]*)"$`, func(id string) error {
		return w.request(http.MethodDelete, "/instance/"+id, "a follower", nil)
	})
	sc.Step(`^it is reported "([^"]*)"$`, w.reported)
	sc.Step(`^it is reported "([^"]*)" with change_version (\d+)$`, w.reportedVersion)
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
	sc.Step(`^I remember the "([^"]*)" as "([^"]*)"$`, w.remember)
	sc.Step(`^I remember the header "([^"]*)" as "([^"]*)"$`, w.rememberHeader)
}
