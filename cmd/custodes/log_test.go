package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// --log-format json writes one JSON object a line, with slog's keys.
func TestJSONLogLinesParse(t *testing.T) {
	var buf bytes.Buffer
	logger, err := newLogger(&buf, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("agent started", "node", "a1", "http", "127.0.0.1:8501")
	logger.With("node", "a2").Warn("a \"quoted\"\nmessage", "n", 3)
	logger.Debug("debug too")
	sc := bufio.NewScanner(&buf)
	lines := 0
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", lines, err, sc.Text())
		}
		for _, k := range []string{"time", "level", "msg", "node"} {
			if _, ok := m[k]; !ok && lines < 3 {
				t.Errorf("line %d lacks %q: %s", lines, k, sc.Text())
			}
		}
	}
	if lines != 3 {
		t.Fatalf("%d lines, want 3:\n%s", lines, buf.String())
	}
}

func TestTextLogIsTheDefault(t *testing.T) {
	var buf bytes.Buffer
	logger, err := newLogger(&buf, "info", "")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hello", "k", "v")
	if got := buf.String(); !strings.Contains(got, "msg=hello k=v") {
		t.Fatalf("text output %q", got)
	}
}

// agent, dev and fileserver all take --log-format, and refuse a format
// they do not know before starting anything.
func TestLogFormatFlag(t *testing.T) {
	for _, cmd := range []string{"agent", "dev", "fileserver"} {
		var stderr bytes.Buffer
		if code := run([]string{cmd, "--log-format", "xml"}, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("%s --log-format xml: exit %d, want 2: %s", cmd, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), `log format "xml"`) {
			t.Errorf("%s --log-format xml: %s", cmd, stderr.String())
		}
	}
	if _, err := newLogger(&bytes.Buffer{}, "info", "json"); err != nil {
		t.Fatal(err)
	}
}

// make release stamps version and commit with -ldflags -X.
func TestVersionLine(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	if got := versionLine(); got != "custodes dev" {
		t.Fatalf("unstamped: %q", got)
	}
	version, commit = "v1.2.3", "abc1234"
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, &bytes.Buffer{}); code != 0 || out.String() != "custodes v1.2.3 (commit abc1234)\n" {
		t.Fatalf("exit %d, %q", code, out.String())
	}
}
