package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// script runs one of scripts/*.sh against the cluster in dir.
func script(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join("..", "scripts", name)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// TestChaosScriptsKillAndRestartTheLeader drives scripts/cluster.sh and
// scripts/chaos.sh as an operator would: start three agents as processes,
// kill the leader, see a new one elected, restart the dead agent, stop.
func TestChaosScriptsKillAndRestartTheLeader(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("scripts need curl")
	}
	dir := t.TempDir()
	bin := custodesBinary(t)
	// Below the ephemeral range (32768+), where other tests' :0 ports land.
	base := 20000 + (os.Getpid()%48)*250
	env := []string{"CUSTODES_BIN=" + bin, fmt.Sprintf("BASE_PORT=%d", base)}
	cdir := filepath.Join(dir, "cluster")
	script(t, env, "cluster.sh", "--dir", cdir, "start", "3")
	t.Cleanup(func() { script(t, env, "cluster.sh", "--dir", cdir, "stop") })

	out := script(t, env, "chaos.sh", "--dir", cdir, "kill-leader")
	m := regexp.MustCompile(`killed node(\d)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("chaos.sh did not say what it killed:\n%s", out)
	}
	killed := m[1]
	url := func(i string) string { return fmt.Sprintf("http://127.0.0.1:%d", base+atoi(i)) }
	var survivor string
	for _, i := range []string{"1", "2", "3"} {
		if i != killed {
			survivor = i
		}
	}
	waitFor(t, "a new leader among the survivors", 10*time.Second, func() bool {
		resp, err := client.Get(url(survivor) + "/admin/raft")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st raftStatus
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return st.Leader != nil && st.Leader.ID != "node"+killed
	})
	if code, err := register(url(survivor), "after-chaos"); err != nil || code != http.StatusCreated {
		t.Fatalf("write after the kill: %d %v", code, err)
	}
	out = script(t, env, "chaos.sh", "--dir", cdir, "restart", killed)
	if !strings.Contains(out, "started node"+killed) {
		t.Fatalf("restart did not start node%s:\n%s", killed, out)
	}
	waitFor(t, "the restarted agent to serve the write made while it was down", 10*time.Second, func() bool {
		return lookupStatus(url(killed), "after-chaos") == http.StatusOK
	})
	state := script(t, env, "chaos.sh", "--dir", cdir, "state")
	if strings.Count(state, "running") != 3 || strings.Count(state, " Leader ") != 1 {
		t.Fatalf("state after restart:\n%s", state)
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscanf(s, "%d", &n)
	return n
}
