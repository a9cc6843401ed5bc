package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodes/custodes/api"
)

// Bad ACL flags stop the agent before it starts anything; the message
// names the problem and never the token.
func TestAgentRefusesBadACLFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := []string{"agent", "--node-id", "n1", "--data-dir", t.TempDir(), "--bootstrap-expect", "1"}
	cases := []struct {
		args     []string
		mentions string
	}{
		{[]string{"--acl-default", "open"}, `acl-default "open": use allow or deny`},
		{[]string{"--initial-management-token-file", write("empty", " \n")}, "the file is empty"},
		{[]string{"--initial-management-token-file", write("short", "tiny-secret\n")}, "use at least 16"},
		{[]string{"--initial-management-token-file", filepath.Join(dir, "missing")}, "no such file"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		code := run(append(append([]string{}, base...), tc.args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.mentions) {
			t.Errorf("%v: exit %d, stderr %q; want 2 mentioning %q", tc.args, code, errOut.String(), tc.mentions)
		}
		if strings.Contains(errOut.String(), "tiny-secret") {
			t.Errorf("%v: the token is in the message: %q", tc.args, errOut.String())
		}
	}
}

func TestInitialTokenIsTrimmed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, []byte("  0123456789abcdef-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := aclFlags{tokenFile: p}
	var cfg struct{ acl api.ACLConfig }
	if err := f.load(&cfg.acl); err != nil || cfg.acl.InitialManagementToken != "0123456789abcdef-token" {
		t.Fatalf("%v %q", err, cfg.acl.InitialManagementToken)
	}
}
