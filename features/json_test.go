package features

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
)

// decoded is the last response body as JSON.
func (w *world) decoded() (any, error) {
	if w.last == nil {
		return nil, fmt.Errorf("no request was sent")
	}
	var v any
	if err := json.Unmarshal(w.last.body, &v); err != nil {
		return nil, fmt.Errorf("response %d is not JSON (%v): %s", w.last.status, err, w.last.body)
	}
	return v, nil
}

// field follows a dotted path (instances.0.name) into the last response.
func (w *world) field(path string) (any, error) {
	got, err := w.decoded()
	if err != nil {
		return nil, err
	}
	v, ok := lookup(got, path)
	if !ok {
		return nil, fmt.Errorf("no %q in %s", path, w.last.body)
	}
	return v, nil
}

func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// partialMatch reports where actual fails to contain expected: an object
// matches if every expected key matches; an array if every expected
// element matches some actual element; a scalar if equal.
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

// expected decodes a docstring of JSON after expanding ${variables}.
func (w *world) expected(doc *godog.DocString) (any, error) {
	text, err := w.expand(doc.Content)
	if err != nil {
		return nil, err
	}
	var want any
	if err := json.Unmarshal([]byte(text), &want); err != nil {
		return nil, fmt.Errorf("the scenario's JSON is invalid: %v", err)
	}
	return want, nil
}

// compare checks a number in the response ("index") or a header.
func compare(what, got, op, want string) error {
	g, err1 := strconv.ParseFloat(got, 64)
	x, err2 := strconv.ParseFloat(want, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%s: cannot compare %q with %q", what, got, want)
	}
	if (op == "at least" && g < x) || (op == "greater than" && g <= x) {
		return fmt.Errorf("%s is %s, want %s %s", what, got, op, want)
	}
	return nil
}
