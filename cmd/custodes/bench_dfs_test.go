package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custodes/custodes/bench"
)

func TestBenchDFSFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "dfs"}, "nothing to measure"},
		{[]string{"bench", "dfs", "--sink", "http://x", "--concurrency", "0"}, "bad concurrency"},
		{[]string{"bench", "dfs", "--sink", "http://x", "--large-size", "big"}, "--large-size"},
		{[]string{"bench", "dfs", "--custodes", "http://x"}, "needs a user's token"},
		{[]string{"bench", "dfs", "--seaweed", "http://x", "--seaweed-modes", "async"}, "--seaweed-modes"},
		{[]string{"bench", "sink"}, "--dir is required"},
	} {
		t.Setenv("CUSTODES_TOKEN", "")
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// A whole (tiny) run against the plain writer prints the table.
func TestBenchDFSAgainstSink(t *testing.T) {
	srv := httptest.NewServer(bench.Sink{Dir: t.TempDir()})
	defer srv.Close()
	var out, errOut bytes.Buffer
	args := []string{"bench", "dfs", "--sink", srv.URL, "--concurrency", "1,2", "--max-ops", "5", "--duration", "5s",
		"--large-size", "1MiB", "--large-count", "2"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"| direct: fsyncing writer | write | 4 KiB | 2 |",
		"| direct: fsyncing writer | read | 1 MiB | 1 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "First error") {
		t.Errorf("errors in a run against a local writer:\n%s", out.String())
	}
}
