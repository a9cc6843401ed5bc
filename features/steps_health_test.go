package features

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"
)

// testService is an HTTP service whose /alive the scenario flips.
type testService struct {
	srv *httptest.Server
	up  atomic.Bool
}

func (w *world) service(name, state string) error {
	s := &testService{}
	s.up.Store(state == "healthy")
	s.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if state == "redirecting" {
			http.Redirect(rw, r, "/alive-elsewhere", http.StatusFound)
			return
		}
		if s.up.Load() {
			rw.WriteHeader(http.StatusOK)
			return
		}
		rw.WriteHeader(http.StatusServiceUnavailable)
	}))
	w.cleanup = append(w.cleanup, s.srv.Close)
	w.vars[name+".addr"] = strings.TrimPrefix(s.srv.URL, "http://")
	w.vars[name+".url"] = s.srv.URL
	w.services()[name] = s
	return nil
}

func (w *world) services() map[string]*testService {
	if w.svcs == nil {
		w.svcs = map[string]*testService{}
	}
	return w.svcs
}

func (w *world) flip(name, state string) error {
	s, ok := w.services()[name]
	if !ok {
		return fmt.Errorf("no test service %q", name)
	}
	s.up.Store(state == "recovers")
	return nil
}

// hook is a rectify webhook that records what it receives.
type hook struct {
	mu    sync.Mutex
	calls []map[string]any
}

func (w *world) webhook(name string) error {
	h := &hook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.mu.Lock()
		h.calls = append(h.calls, body)
		h.mu.Unlock()
	}))
	w.cleanup = append(w.cleanup, srv.Close)
	w.vars[name+".url"] = srv.URL
	if w.hooks == nil {
		w.hooks = map[string]*hook{}
	}
	w.hooks[name] = h
	return nil
}

func (w *world) hookCalled(name string, n int, event, id string) error {
	h, ok := w.hooks[name]
	if !ok {
		return fmt.Errorf("no webhook %q", name)
	}
	id, err := w.expand(id)
	if err != nil {
		return err
	}
	return poll(10*time.Second, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.calls) != n {
			return fmt.Errorf("webhook called %d times, want %d", len(h.calls), n)
		}
		for _, c := range h.calls {
			inst, _ := c["instance"].(map[string]any)
			if c["event"] != event || inst["id"] != id {
				return fmt.Errorf("webhook body %v", c)
			}
		}
		return nil
	})
}

func (w *world) turns(id, status string, secs int) error {
	id, err := w.expand(id)
	if err != nil {
		return err
	}
	return poll(time.Duration(secs)*time.Second, func() error {
		l, err := w.agent("a follower")
		if err != nil {
			return err
		}
		r, err := w.send(l, http.MethodGet, "/instance/"+id, nil)
		if err != nil {
			return err
		}
		var inst struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(r.body, &inst)
		if inst.Status != status {
			return fmt.Errorf("instance %s is %q (%d), want %q", id, inst.Status, r.status, status)
		}
		return nil
	})
}

func (w *world) goneWithin(id string, secs int) error {
	id, err := w.expand(id)
	if err != nil {
		return err
	}
	return poll(time.Duration(secs)*time.Second, func() error { return w.instanceGone(id) })
}

// stream collects server-sent events from an agent in the background.
type stream struct {
	mu     sync.Mutex
	events []map[string]string
}

func (w *world) openStream(who, query string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(w.ctx)
	w.cleanup = append(w.cleanup, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.c.URL(i)+"/events"+query, nil)
	// No client timeout: the stream lives until the scenario ends.
	resp, err := (&http.Client{Transport: w.client.Transport}).Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		return fmt.Errorf("event stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{}
	w.stream = s
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		cur := map[string]string{}
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if cur["event"] != "" {
					s.mu.Lock()
					s.events = append(s.events, cur)
					s.mu.Unlock()
				}
				cur = map[string]string{}
				continue
			}
			if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, ":") {
				cur[k] = v
			}
		}
	}()
	return nil
}

func (w *world) streamDelivers(event, name string) error {
	if w.stream == nil {
		return fmt.Errorf("no event stream is open")
	}
	return poll(10*time.Second, func() error {
		w.stream.mu.Lock()
		defer w.stream.mu.Unlock()
		for _, ev := range w.stream.events {
			if ev["event"] == event && strings.Contains(ev["data"], `"name":"`+name+`"`) && ev["id"] != "" {
				return nil
			}
		}
		return fmt.Errorf("no %q event for %s among %d events", event, name, len(w.stream.events))
	})
}

func (w *world) streamDeliversMembership() error {
	return poll(10*time.Second, func() error {
		w.stream.mu.Lock()
		defer w.stream.mu.Unlock()
		for _, ev := range w.stream.events {
			if ev["event"] == "membership" && strings.Contains(ev["data"], `"servers"`) {
				return nil
			}
		}
		return fmt.Errorf("no membership event among %d events", len(w.stream.events))
	})
}

func healthSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^a test service "([^"]*)" that is (healthy|failing|redirecting)$`, w.service)
	sc.Step(`^the test service "([^"]*)" (recovers|starts failing)$`, w.flip)
	sc.Step(`^a rectify webhook "([^"]*)"$`, w.webhook)
	sc.Step(`^the webhook "([^"]*)" has been called (\d+) times? with event "([^"]*)" for "([^"]*)"$`, w.hookCalled)
	sc.Step(`^the instance "([^"]*)" turns "(passing|critical)" within (\d+) seconds?$`, w.turns)
	sc.Step(`^the instance "([^"]*)" is deregistered within (\d+) seconds?$`, w.goneWithin)
	sc.Step(`^I open an event stream on `+who+`$`, func(who string) error { return w.openStream(who, "") })
	sc.Step(`^the event stream delivers a "([^"]*)" event for "([^"]*)"$`, w.streamDelivers)
	sc.Step(`^the event stream delivers a membership event$`, w.streamDeliversMembership)
	sc.Step(`^I open an event stream on `+who+` after index "([^"]*)"$`, func(who, idx string) error {
		idx, err := w.expand(idx)
		if err != nil {
			return err
		}
		return w.openStream(who, "?index="+idx)
	})
	sc.Step(`^the event stream holds no "([^"]*)" event for "([^"]*)"$`, func(event, name string) error {
		w.stream.mu.Lock()
		defer w.stream.mu.Unlock()
		for _, ev := range w.stream.events {
			if ev["event"] == event && strings.Contains(ev["data"], `"name":"`+name+`"`) {
				return fmt.Errorf("the stream holds %s for %s at index %s", event, name, ev["id"])
			}
		}
		return nil
	})
}
