package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTool writes an executable shell script NAME into dir.
func fakeTool(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// buildScript runs scripts/provision/build.sh SRC OUT with the fake tools
// of dir first on PATH.
func buildScript(t *testing.T, dir, out string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "provision", "build.sh"), "..", out)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "CUSTODES_GO_VERSION=")
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// TestProvisionBuildScriptChoosesItsGo checks the choice build.sh makes on
// a machine with no custodes binary, with fake go and curl (no compiler
// run, no download): a go on PATH at least as new as go.mod's builds a
// static binary from the source tree; an older one is not used, and
// without the internet the script stops saying to build on the host.
func TestProvisionBuildScriptChoosesItsGo(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("build.sh needs bash")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "build.args")
	fakeGo := func(version string) {
		fakeTool(t, dir, "go", `case "$1" in
env) echo go`+version+` ;;
build) echo "CGO_ENABLED=$CGO_ENABLED pwd=$(pwd) $*" > `+record+`
  while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
  printf '#!/bin/sh\necho custodes fake\n' > "$out"; chmod +x "$out" ;;
*) exit 2 ;;
esac
`)
	}
	fakeTool(t, dir, "curl", "exit 7\n")
	src, _ := filepath.Abs("..")

	fakeGo("99.0.0")
	out := filepath.Join(dir, "out", "custodes")
	log, err := buildScript(t, dir, out)
	if err != nil {
		t.Fatalf("build.sh with a new enough go: %v\n%s", err, log)
	}
	args, _ := os.ReadFile(record)
	for _, want := range []string{"CGO_ENABLED=0", "pwd=" + src + " ", "build", "-o " + out, "./cmd/custodes"} {
		if !strings.Contains(string(args), want) {
			t.Fatalf("build.sh ran go as %q, want %q in it\n%s", args, want, log)
		}
	}
	if !strings.Contains(log, "built "+out+" (custodes fake)") {
		t.Fatalf("build.sh did not check the binary it built:\n%s", log)
	}

	fakeGo("1.20.0")
	_ = os.Remove(record)
	log, err = buildScript(t, dir, filepath.Join(dir, "out2", "custodes"))
	if err == nil {
		t.Fatalf("build.sh with go1.20 and no internet succeeded:\n%s", log)
	}
	if _, statErr := os.Stat(record); statErr == nil {
		t.Fatalf("build.sh built with a go older than go.mod's:\n%s", log)
	}
	for _, want := range []string{"older than go", "cannot download", "make build"} {
		if !strings.Contains(log, want) {
			t.Fatalf("build.sh's failure does not say %q:\n%s", want, log)
		}
	}
}
