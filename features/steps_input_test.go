package features

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cucumber/godog"
)

// headerKey carries the headers a step asked for from the step to do():
// steps that send many requests at once (registerConcurrently) share the
// world, so do() must not read or clear world state itself.
type headerKey struct{}

// withNextHeader hands the headers set for the next request to ctx, and
// clears them so that the request after it is sent as usual again. It is
// called only from a step's own goroutine.
func (w *world) withNextHeader(ctx context.Context) context.Context {
	h := w.nextHeader
	w.nextHeader = nil
	if h == nil {
		return ctx
	}
	return context.WithValue(ctx, headerKey{}, h)
}

// applyHeader puts on req the headers withNextHeader put in its context;
// an empty value removes the header.
func applyHeader(req *http.Request) {
	h, _ := req.Context().Value(headerKey{}).(http.Header)
	for k, vs := range h {
		if len(vs) == 0 || vs[0] == "" {
			req.Header.Del(k)
			continue
		}
		req.Header[k] = vs
	}
}

// nextHeaderIs sets a header, given as "Name: value", on the next request
// (value may hold ${variables}).
func (w *world) nextHeaderIs(line string) error {
	name, value, ok := strings.Cut(line, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not Name: value", line)
	}
	value, err := w.expand(strings.TrimSpace(value))
	if err != nil {
		return err
	}
	if w.nextHeader == nil {
		w.nextHeader = http.Header{}
	}
	w.nextHeader.Set(strings.TrimSpace(name), value)
	return nil
}

// nextHeaderAbsent removes a header the steps would otherwise send (the
// Content-Type: application/json every body gets).
func (w *world) nextHeaderAbsent(name string) error {
	if w.nextHeader == nil {
		w.nextHeader = http.Header{}
	}
	w.nextHeader.Set(name, "")
	return nil
}

// rememberOrigin remembers agent i's own origin (http://host:port), as a
// page the agent served would send it.
func (w *world) rememberOrigin(who, name string) error {
	i, err := w.agent(who)
	if err != nil {
		return err
	}
	w.vars[name] = w.c.URL(i)
	return nil
}

func inputSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^my next request has the header "([^"]*)"$`, w.nextHeaderIs)
	sc.Step(`^my next request has no "([^"]*)" header$`, w.nextHeaderAbsent)
	sc.Step(`^I remember the origin of `+who+` as "([^"]*)"$`, w.rememberOrigin)
}
