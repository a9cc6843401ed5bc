package main

import (
	"bytes"
	"strings"
	"testing"
)

// The client commands live in package cli; the binary only dispatches
// them, and its own commands keep working beside them.
func TestClientCommandsAreDispatched(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"raft", "extra"}, 2, "", `custodes raft: unexpected arguments ["extra"]`},
		{[]string{"files"}, 2, "", "custodes files: which one?"},
		{[]string{"snapshot", "save"}, 2, "", "custodes snapshot save: missing arguments"},
		{[]string{"members", "-h"}, 0, "", "Usage: custodes members"},
		{[]string{"members", "--http", "127.0.0.1:1"}, 1, "", "custodes: Get http://127.0.0.1:1/admin/members"},
		{[]string{"version"}, 0, "custodes ", ""},
		{[]string{"keygen", "x"}, 2, "", "takes no arguments"},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"help"}, 0, "custodes snapshot save FILE", ""},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("custodes %q: exit %d, stdout %q, stderr %q; want %d, %q, %q",
				tc.args, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
}
