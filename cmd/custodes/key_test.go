package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custodes/custodes/keyring"
)

func TestKeygenPrintsAKeyTheAgentAccepts(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"keygen"}, &out, &errOut); code != 0 {
		t.Fatalf("keygen exited %d: %s", code, errOut.String())
	}
	if _, err := keyring.Parse(strings.TrimSpace(out.String())); err != nil {
		t.Fatalf("keygen printed %q: %v", out.String(), err)
	}
}

// A bad key stops the agent before it starts anything, naming the source.
func TestAgentRefusesABadKey(t *testing.T) {
	for _, args := range [][]string{
		{"agent", "--node-id", "n1", "--data-dir", t.TempDir(), "--bootstrap-expect", "1", "--encrypt", "c2hvcnQ="},
		{"leave", "--encrypt", "not base64!"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--encrypt: key 1") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming --encrypt", args, code, errOut.String())
		}
	}
}
