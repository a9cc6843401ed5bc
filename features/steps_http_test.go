package features

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

var httpClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// send performs one request against agent i.
func (w *world) send(i int, method, path string, body []byte) (*response, error) {
	path, err := w.expand(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	if body != nil {
		expanded, err := w.expand(string(body))
		if err != nil {
			return nil, err
		}
		r = strings.NewReader(expanded)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, w.c.URL(i)+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(start)}, nil
}

func (w *world) request(method, path, who string, body *godog.DocString) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	var b []byte
	if body != nil {
		b = []byte(body.Content)
	}
	w.asked = i
	w.last, err = w.send(i, method, path, b)
	return err
}

// json decodes the last response body.
func (w *world) json() (any, error) {
	if w.last == nil {
		return nil, fmt.Errorf("no request was sent")
	}
	var v any
	if err := json.Unmarshal(w.last.body, &v); err != nil {
		return nil, fmt.Errorf("response is not JSON (%v): %s", err, w.last.body)
	}
	return v, nil
}

// lookup follows a dotted path (instances.0.name) into decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[part]; !ok {
				return nil, false
			}
		case []any:
			var i int
			if _, err := fmt.Sscanf(part, "%d", &i); err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// partialMatch reports where actual fails to contain expected: objects
// match if every expected key matches; arrays if every expected element
// matches some actual element; scalars if equal.
func partialMatch(expected, actual any, at string) error {
	switch e := expected.(type) {
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %v", at, actual)
		}
		for k, ev := range e {
			av, ok := a[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", at, k)
			}
			if err := partialMatch(ev, av, at+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		a, ok := actual.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %v", at, actual)
		}
		for i, ev := range e {
			found := false
			for _, av := range a {
				if partialMatch(ev, av, at) == nil {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s[%d]: no element matches %v", at, i, ev)
			}
		}
		return nil
	}
	if !reflect.DeepEqual(expected, actual) {
		return fmt.Errorf("%s: want %v, got %v", at, expected, actual)
	}
	return nil
}

func (w *world) statusIs(code int) error {
	if w.last == nil {
		return fmt.Errorf("no request was sent")
	}
	if w.last.status != code {
		return fmt.Errorf("status %d, want %d: %s", w.last.status, code, w.last.body)
	}
	return nil
}

func (w *world) containsJSON(doc *godog.DocString) error {
	text, err := w.expand(doc.Content)
	if err != nil {
		return err
	}
	var want any
	if err := json.Unmarshal([]byte(text), &want); err != nil {
		return fmt.Errorf("the scenario's JSON is invalid: %v", err)
	}
	got, err := w.json()
	if err != nil {
		return err
	}
	if err := partialMatch(want, got, "$"); err != nil {
		return fmt.Errorf("%v\nbody: %s", err, w.last.body)
	}
	return nil
}

func (w *world) errorMentions(text string) error {
	got, err := w.json()
	if err != nil {
		return err
	}
	msg, _ := lookup(got, "error")
	s, ok := msg.(string)
	if !ok || !strings.Contains(s, text) {
		return fmt.Errorf("error %v does not mention %q", msg, text)
	}
	return nil
}

func (w *world) fieldCount(path string, n int) error {
	got, err := w.json()
	if err != nil {
		return err
	}
	v, ok := lookup(got, path)
	arr, isArr := v.([]any)
	if !ok || !isArr {
		return fmt.Errorf("%s is not an array in %s", path, w.last.body)
	}
	if len(arr) != n {
		return fmt.Errorf("%s has %d elements, want %d", path, len(arr), n)
	}
	return nil
}

func (w *world) remember(path, name string) error {
	got, err := w.json()
	if err != nil {
		return err
	}
	v, ok := lookup(got, path)
	if !ok {
		return fmt.Errorf("no %s in %s", path, w.last.body)
	}
	w.vars[name] = fmt.Sprint(v)
	return nil
}

func (w *world) headerNotEmpty(name string) error {
	if w.last.header.Get(name) == "" {
		return fmt.Errorf("header %s is missing", name)
	}
	return nil
}

func (w *world) headerNames(name, who string) error {
	var want string
	switch who {
	case "the agent asked":
		want = w.c.Agents[w.asked].Node().ID()
	default:
		i, err := w.agent(who)
		if err != nil {
			return err
		}
		want = w.c.Agents[i].Node().ID()
	}
	if got := w.last.header.Get(name); got != want {
		return fmt.Errorf("header %s is %q, want %q", name, got, want)
	}
	return nil
}

func (w *world) answeredWithin(secs float64) error {
	if limit := time.Duration(secs * float64(time.Second)); w.last.elapsed > limit {
		return fmt.Errorf("answered after %s, want within %s", w.last.elapsed, limit)
	}
	return nil
}

func (w *world) sendRaw(method, path, who, body string) error {
	return w.request(method, path, who, &godog.DocString{Content: body})
}

// sendBig sends a body of n bytes (a JSON object padded in a string).
func (w *world) sendBig(n int, path, who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	pad := bytes.Repeat([]byte("x"), n)
	body := append([]byte(`{"name":"big","address":"10.0.0.1:80","version":"`), pad...)
	body = append(body, `"}`...)
	w.last, err = w.send(i, http.MethodPost, path, body)
	return err
}

func httpSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^I send "(GET|POST|PUT|DELETE|PATCH)" "([^"]*)" to `+who+`$`,
		func(m, p, who string) error { return w.request(m, p, who, nil) })
	sc.Step(`^I send "(GET|POST|PUT|DELETE|PATCH)" "([^"]*)" to `+who+` with body:$`,
		func(m, p, who string, d *godog.DocString) error { return w.request(m, p, who, d) })
	sc.Step(`^I send "(GET|POST|PUT|DELETE|PATCH)" "([^"]*)" to `+who+` with the raw body '(.*)'$`, w.sendRaw)
	sc.Step(`^I send a body of (\d+) bytes to "([^"]*)" on `+who+`$`, w.sendBig)
	sc.Step(`^the response status is (\d+)$`, w.statusIs)
	sc.Step(`^the response contains:$`, w.containsJSON)
	sc.Step(`^the error mentions "(.*)"$`, w.errorMentions)
	sc.Step(`^the response has (\d+) "([^"]*)"$`, func(n int, path string) error { return w.fieldCount(path, n) })
	sc.Step(`^I remember the response "([^"]*)" as "([^"]*)"$`, w.remember)
	sc.Step(`^the response header "([^"]*)" is set$`, w.headerNotEmpty)
	sc.Step(`^the response header "([^"]*)" names (the agent asked|the leader)$`, w.headerNames)
	sc.Step(`^the response header "([^"]*)" is "([^"]*)"$`, func(name, want string) error {
		if got := w.last.header.Get(name); got != want {
			return fmt.Errorf("header %s is %q, want %q", name, got, want)
		}
		return nil
	})
	sc.Step(`^the answer came within ([\d.]+) seconds?$`, w.answeredWithin)
}
