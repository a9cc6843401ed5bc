package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vagrant runs `vagrant ARGS...` in the repository root with env added,
// keeping Vagrant's own state (.vagrant, ~/.vagrant.d) and the generated
// secrets in dir, so the test leaves nothing in the tree or the home.
func vagrant(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "vagrant", args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(),
		"CUSTODES_SECRETS_DIR="+filepath.Join(dir, "secrets"),
		"VAGRANT_DOTFILE_PATH="+filepath.Join(dir, "dotfile"),
		"VAGRANT_HOME="+filepath.Join(dir, "home"),
		"VAGRANT_CHECKPOINT_DISABLE=1",
		"VAGRANT_NO_COLOR=1",
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// validate runs `vagrant validate`; where Vagrant has no provider at all
// (neither VirtualBox nor the libvirt plugin: it then refuses to validate)
// it validates again ignoring the providers' sections, and says so.
func validate(t *testing.T, dir string, env []string) (string, error) {
	t.Helper()
	out, err := vagrant(t, dir, env, "validate")
	if err != nil && strings.Contains(out, "No usable default provider") {
		t.Log("vagrant has no provider here (install vagrant-libvirt or VirtualBox to check their sections): validating with --ignore-provider")
		return vagrant(t, dir, env, "validate", "--ignore-provider")
	}
	return out, err
}

// TestVagrantValidate runs `vagrant validate` on the Vagrantfile (offline:
// no box, no provider needed): the default cluster and another size
// validate, the secrets are generated once with mode 0600 and kept, and a
// bad size is refused naming its variable.
func TestVagrantValidate(t *testing.T) {
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Skip("vagrant validate skipped: vagrant is not installed (make test-deps installs Debian's package where it runs as root with apt-get)")
	}
	dir := t.TempDir()
	out, err := validate(t, dir, nil)
	if err != nil || !strings.Contains(out, "validated successfully") {
		t.Fatalf("vagrant validate: %v\n%s", err, out)
	}
	secret := func(name string) string {
		t.Helper()
		path := filepath.Join(dir, "secrets", name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("the Vagrantfile did not generate %s: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %o, want 0600", name, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(path)
		return string(b)
	}
	key, token := secret("cluster.key"), secret("management.token")
	if !keyIsValid(key) {
		t.Fatalf("cluster.key %q is not a key as custodes keygen makes one (base64 of 32 bytes)", key)
	}
	if len(strings.TrimSpace(token)) < 32 {
		t.Fatalf("management.token %q is too short", token)
	}

	out, err = validate(t, dir, []string{"CUSTODES_AGENTS=5", "CUSTODES_FILESERVERS=0"})
	if err != nil || !strings.Contains(out, "validated successfully") {
		t.Fatalf("vagrant validate with 5 agents and no file server: %v\n%s", err, out)
	}
	if secret("cluster.key") != key || secret("management.token") != token {
		t.Fatal("a second vagrant command generated new secrets: every machine must share the first ones")
	}

	out, err = validate(t, dir, []string{"CUSTODES_AGENTS=0"})
	if err == nil || !strings.Contains(out, "CUSTODES_AGENTS=0") {
		t.Fatalf("vagrant validate with CUSTODES_AGENTS=0: %v, want an error naming it\n%s", err, out)
	}
}
