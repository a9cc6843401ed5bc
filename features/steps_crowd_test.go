package features

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// crowdAnswer is one concurrent registration and what it was answered.
type crowdAnswer struct {
	name, addr string
	status     int
	id, change string
	body       string
}

// registerConcurrently sends n registrations of name at distinct
// addresses at once, so that a follower forwards them to the leader
// together and the leader proposes them together.
func (w *world) registerConcurrently(n int, name, who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	w.crowd = make([]crowdAnswer, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := crowdAnswer{name: name, addr: fmt.Sprintf("10.77.%d.%d:%d", k/250, k%250+1, 8000+k)}
			body, _ := json.Marshal(map[string]string{"name": name, "address": a.addr})
			r, err := w.send(i, http.MethodPost, "/register", body)
			if err != nil {
				errs <- err
				return
			}
			var v struct{ ID, Change string }
			_ = json.Unmarshal(r.body, &v)
			a.status, a.id, a.change, a.body = r.status, v.ID, v.Change, string(r.body)
			w.crowd[k] = a
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (w *world) eachCreated() error {
	if len(w.crowd) == 0 {
		return fmt.Errorf("no concurrent registrations were sent")
	}
	seen := map[string]string{}
	for _, a := range w.crowd {
		if a.status != http.StatusCreated || a.change != "created" || a.id == "" {
			return fmt.Errorf("%s at %s: status %d: %s", a.name, a.addr, a.status, a.body)
		}
		if other, dup := seen[a.id]; dup {
			return fmt.Errorf("%s and %s were both answered with id %s", other, a.addr, a.id)
		}
		seen[a.id] = a.addr
	}
	return nil
}

// eachReadsBack checks that every answer's id is the instance registered
// by that very request: answers shared a trip and must not be swapped.
func (w *world) eachReadsBack(who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	for _, a := range w.crowd {
		r, err := w.send(i, http.MethodGet, "/instance/"+a.id, nil)
		if err != nil {
			return err
		}
		var got instance
		if err := json.Unmarshal(r.body, &got); err != nil || r.status != http.StatusOK {
			return fmt.Errorf("instance %s: status %d: %s", a.id, r.status, r.body)
		}
		if got.Address != a.addr || got.Name != a.name {
			return fmt.Errorf("the answer to the registration of %s at %s named %s, which is %s at %s", a.name, a.addr, a.id, got.Name, got.Address)
		}
	}
	return nil
}
