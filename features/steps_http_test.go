package features

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
)

// send performs one request against agent i; ${variables} in path and
// body are expanded. A nil body sends none.
func (w *world) send(i int, method, path string, body []byte) (*response, error) {
	return w.sendCtx(w.ctx, i, method, path, body)
}

func (w *world) sendCtx(ctx context.Context, i int, method, path string, body []byte) (*response, error) {
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
	return w.do(ctx, i, method, path, r)
}

// do sends r as it is (a reader of unknown length goes out chunked).
func (w *world) do(ctx context.Context, i int, method, path string, r io.Reader) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, w.c.URL(i)+path, r)
	if err != nil {
		return nil, err
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	applyHeader(req)
	return w.exchange(req)
}

// exchange sends req and reads the whole answer, timing it.
func (w *world) exchange(req *http.Request) (*response, error) {
	start := time.Now()
	resp, err := w.client.Do(req)
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
	w.last, err = w.sendCtx(w.withNextHeader(w.ctx), i, method, path, b)
	return err
}

// sendBig sends a JSON registration of n bytes, declaring its length, or
// chunked so that the agent cannot know it before reading.
func (w *world) sendBig(n int, how, path, who string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	head, tail := `{"name":"big","address":"10.0.0.1:80","version":"`, `"}`
	body := append([]byte(head), bytes.Repeat([]byte("x"), n-len(head)-len(tail))...)
	body = append(body, tail...)
	var r io.Reader = bytes.NewReader(body)
	if how == "chunked" {
		r = io.MultiReader(r) // hides the length
	}
	w.asked = i
	w.last, err = w.do(w.withNextHeader(w.ctx), i, http.MethodPost, path, r)
	return err
}

// background starts a request and returns once it is on the wire, so that
// what the scenario does next happens after the agent received it.
func (w *world) background(method, path, who, name string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	wrote := make(chan struct{})
	var once sync.Once
	ctx := httptrace.WithClientTrace(w.ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) },
	})
	ch := make(chan *response, 1)
	w.pending[name] = ch
	go func() {
		r, err := w.sendCtx(ctx, i, method, path, nil)
		if err != nil {
			r = &response{status: -1, body: []byte(err.Error())}
		}
		ch <- r
	}()
	select {
	case <-wrote:
		return nil
	case r := <-ch:
		ch <- r
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("background request %q was not sent within 5s", name)
	}
}

func (w *world) backgroundAnswers(name string, code int, secs float64) error {
	ch, ok := w.pending[name]
	if !ok {
		return fmt.Errorf("no background request %q", name)
	}
	select {
	case r := <-ch:
		w.last = r
		return w.statusIs(code)
	case <-time.After(time.Duration(secs * float64(time.Second))):
		return fmt.Errorf("background request %q did not answer within %gs", name, secs)
	}
}

// backgroundWaiting asserts that no answer arrives within a short window
// (an assertion that nothing happens, not a synchronisation).
func (w *world) backgroundWaiting(name string) error {
	ch, ok := w.pending[name]
	if !ok {
		return fmt.Errorf("no background request %q", name)
	}
	select {
	case r := <-ch:
		ch <- r
		return fmt.Errorf("background request %q already answered %d: %s", name, r.status, r.body)
	case <-time.After(100 * time.Millisecond):
		return nil
	}
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

func (w *world) contains(doc *godog.DocString) error {
	want, err := w.expected(doc)
	if err != nil {
		return err
	}
	got, err := w.decoded()
	if err != nil {
		return err
	}
	if err := partialMatch(want, got, "$"); err != nil {
		return fmt.Errorf("%v\nbody: %s", err, w.last.body)
	}
	return nil
}

func (w *world) everyElementContains(path string, doc *godog.DocString) error {
	want, err := w.expected(doc)
	if err != nil {
		return err
	}
	v, err := w.field(path)
	if err != nil {
		return err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return fmt.Errorf("%s is not a non-empty array in %s", path, w.last.body)
	}
	for i, el := range arr {
		if err := partialMatch(want, el, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) hasFields(list string) error {
	for _, f := range strings.Split(list, ",") {
		if _, err := w.field(strings.TrimSpace(f)); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) fieldCompares(path, op, want string) error {
	v, err := w.field(path)
	if err != nil {
		return err
	}
	if want, err = w.expand(want); err != nil {
		return err
	}
	return compare(path, fmt.Sprint(v), op, want)
}

func (w *world) headerCompares(name, op, want string) error {
	want, err := w.expand(want)
	if err != nil {
		return err
	}
	return compare("header "+name, w.last.header.Get(name), op, want)
}

func (w *world) errorMentions(text string) error {
	msg, err := w.field("error")
	if err != nil {
		return err
	}
	s, ok := msg.(string)
	if !ok || !strings.Contains(s, text) {
		return fmt.Errorf("error %v does not mention %q", msg, text)
	}
	return nil
}

func (w *world) fieldCount(n int, path string) error {
	v, err := w.field(path)
	if err != nil {
		return err
	}
	arr, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s is not an array in %s", path, w.last.body)
	}
	if len(arr) != n {
		return fmt.Errorf("%s has %d elements, want %d: %s", path, len(arr), n, w.last.body)
	}
	return nil
}

func (w *world) headerIs(name, want string) error {
	want, err := w.expand(want)
	if err != nil {
		return err
	}
	if got := w.last.header.Get(name); got != want {
		return fmt.Errorf("header %s is %q, want %q", name, got, want)
	}
	return nil
}

func (w *world) headerNames(name, who string) error {
	i := w.asked
	if who != "the agent asked" {
		var err error
		if i, err = w.agent(who); err != nil {
			return err
		}
	}
	return w.headerIs(name, w.nodeID(i))
}

func (w *world) tookAtMost(secs float64) error {
	if limit := time.Duration(secs * float64(time.Second)); w.last.elapsed > limit {
		return fmt.Errorf("answered after %s, want within %s", w.last.elapsed, limit)
	}
	return nil
}

func (w *world) tookAtLeast(secs float64) error {
	if limit := time.Duration(secs * float64(time.Second)); w.last.elapsed < limit {
		return fmt.Errorf("answered after %s, want no sooner than %s", w.last.elapsed, limit)
	}
	return nil
}

func httpSteps(sc *godog.ScenarioContext, w *world) {
	const method = `"(GET|POST|PUT|DELETE|PATCH)"`
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+`$`,
		func(m, p, who string) error { return w.request(m, p, who, nil) })
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` with body:$`, w.request)
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` with the raw body '(.*)'$`, func(m, p, who, body string) error {
		return w.request(m, p, who, &godog.DocString{Content: body})
	})
	sc.Step(`^I send a body of (\d+) bytes (declaring its length|chunked) to "([^"]*)" on `+who+`$`, w.sendBig)
	sc.Step(`^I start `+method+` "([^"]*)" on `+who+` in the background as "([^"]*)"$`, w.background)
	sc.Step(`^the background request "([^"]*)" answers (\d+) within ([\d.]+) seconds?$`, w.backgroundAnswers)
	sc.Step(`^the background request "([^"]*)" is still waiting$`, w.backgroundWaiting)

	sc.Step(`^the response status is (\d+)$`, w.statusIs)
	sc.Step(`^the response contains:$`, w.contains)
	sc.Step(`^every element of "([^"]*)" contains:$`, w.everyElementContains)
	sc.Step(`^the response has the fields "([^"]*)"$`, w.hasFields)
	sc.Step(`^the response has (\d+) "([^"]*)"$`, w.fieldCount)
	sc.Step(`^the response "([^"]*)" is (at least|greater than) (\S+)$`, w.fieldCompares)
	sc.Step(`^the error mentions "(.*)"$`, w.errorMentions)
	sc.Step(`^the response header "([^"]*)" is "([^"]*)"$`, w.headerIs)
	sc.Step(`^the response header "([^"]*)" is absent$`, func(name string) error { return w.headerIs(name, "") })
	sc.Step(`^the response header "([^"]*)" is (at least|greater than) (\S+)$`, w.headerCompares)
	sc.Step(`^the response header "([^"]*)" names (the agent asked|the leader)$`, w.headerNames)
	sc.Step(`^the answer came within ([\d.]+) seconds?$`, w.tookAtMost)
	sc.Step(`^the answer took at least ([\d.]+) seconds?$`, w.tookAtLeast)
}
