package cli

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func testInv() *invocation {
	return &invocation{env: map[string]string{}, stdout: io.Discard, stderr: io.Discard}
}

func TestParseTakesFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		operands []string
		json     bool
		http     string
	}{
		{nil, nil, false, ""},
		{[]string{"web"}, []string{"web"}, false, ""},
		{[]string{"web", "-json"}, []string{"web"}, true, ""},
		{[]string{"-json", "web", "--http", "h:1", "x"}, []string{"web", "x"}, true, "h:1"},
		{[]string{"a", "--", "-json", "b"}, []string{"a", "-json", "b"}, false, ""},
		{[]string{"-", "name"}, []string{"-", "name"}, false, ""},
		{[]string{"--http=h:2", "-"}, []string{"-"}, false, "h:2"},
	} {
		f := testInv().newFlags("t", "", "")
		ops, err := f.parse(tc.args)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(ops, tc.operands) || f.json != tc.json || f.http != tc.http {
			t.Errorf("parse(%q) = %q json=%v http=%q, want %q json=%v http=%q", tc.args, ops, f.json, f.http, tc.operands, tc.json, tc.http)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		min, max int
		help     bool
		msg      string
	}{
		{[]string{"-nope"}, 0, 0, false, "not defined"},
		{[]string{"-h"}, 0, 0, true, ""},
		{[]string{"web", "-help"}, 0, 1, true, ""},
		{nil, 1, 1, false, "missing arguments"},
		{[]string{"a", "b"}, 1, 1, false, `unexpected arguments ["b"]`},
		{[]string{"a", "b", "c"}, 0, 2, false, `unexpected arguments ["c"]`},
	} {
		f := testInv().newFlags("t", "", "")
		_, err := f.operands(tc.args, tc.min, tc.max)
		if tc.help {
			if !errors.Is(err, errHelp) {
				t.Errorf("operands(%q) = %v, want help", tc.args, err)
			}
			continue
		}
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(ue.msg, tc.msg) {
			t.Errorf("operands(%q) = %v, want a usage error with %q", tc.args, err, tc.msg)
		}
	}
}

func TestListAndMapFlags(t *testing.T) {
	f := testInv().newFlags("t", "", "")
	var tags listFlag
	meta := mapFlag{}
	f.Var(&tags, "tag", "")
	f.Var(meta, "meta", "")
	if _, err := f.parse([]string{"--tag", "a,b", "--tag", " c ", "--meta", "k=v", "--meta", "e=x=y"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]string(tags), []string{"a", "b", "c"}) {
		t.Errorf("tags = %q", tags)
	}
	if !reflect.DeepEqual(map[string]string(meta), map[string]string{"k": "v", "e": "x=y"}) {
		t.Errorf("meta = %v", meta)
	}
	if _, err := f.parse([]string{"--meta", "novalue"}); err == nil {
		t.Error("--meta novalue was taken")
	}
}

func TestRegisterBody(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the JSON body, or the usage error's text
		bad  bool
	}{
		{[]string{"--name", "web", "--address", "10.0.0.1:80"}, `{"name":"web","address":"10.0.0.1:80"}`, false},
		{[]string{"--name", "web", "--address", "10.0.0.1", "--port", "80", "--tag", "a,b", "--meta", "env=prod"},
			`{"name":"web","address":"10.0.0.1:80","tags":["a","b"],"meta":{"env":"prod"}}`, false},
		{[]string{"--name", "web", "--address", "::1", "--port", "80"}, `{"name":"web","address":"[::1]:80"}`, false},
		{[]string{"--name", "web", "--address", "h:1", "--check"}, `{"name":"web","address":"h:1","check":{}}`, false},
		{[]string{"--name", "web", "--address", "h:1", "--check-ttl", "30s", "--check-deregister-after", "1m"},
			`{"name":"web","address":"h:1","check":{"deregister_after":"1m","ttl":"30s"}}`, false},
		{[]string{"--name", "web", "--address", "h:1", "--check-http", "http://h:1/health", "--check-interval", "5s", "--rectify", "http://r/"},
			`{"name":"web","address":"h:1","check":{"http":"http://h:1/health","interval":"5s"},"rectify":{"url":"http://r/"}}`, false},
		{[]string{"--name", "web"}, "--name and --address are required", true},
		{[]string{"--name", "web", "--address", "h:1", "--port", "2"}, "has a port already", true},
		{[]string{"--name", "web", "--address", "h", "--port", "70000"}, "from 1 to 65535", true},
	} {
		f := testInv().newFlags("register", "", "")
		var r registerFlags
		r.bind(f)
		if _, err := f.parse(tc.args); err != nil {
			t.Fatal(err)
		}
		b, err := r.body(f)
		if tc.bad {
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(ue.msg, tc.want) {
				t.Errorf("%q: %v, want a usage error with %q", tc.args, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if got := mustJSON(t, b); got != tc.want {
			t.Errorf("%q: body %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct {
		addr string
		tls  bool
		want string
		bad  bool
	}{
		{"127.0.0.1:8500", false, "http://127.0.0.1:8500", false},
		{"127.0.0.1:8500", true, "https://127.0.0.1:8500", false},
		{"https://a.example:8500/", false, "https://a.example:8500", false},
		{"http://[::1]:8500", true, "http://[::1]:8500", false},
		{"ftp://x:1", false, "", true},
		{"http://x:1/path", false, "", true},
		{"", false, "", true},
	} {
		got, err := baseURL(tc.addr, tc.tls)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("baseURL(%q, %v) = %q, %v; want %q (error %v)", tc.addr, tc.tls, got, err, tc.want, tc.bad)
		}
	}
}
