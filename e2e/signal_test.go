package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMStopsCleanlyAndRestartRejoins runs three agent processes,
// sends SIGTERM to the leader (exit 0 within a few seconds, leadership
// handed over first), then starts it again with the same arguments and
// data dir: it rejoins as itself.
func TestSIGTERMStopsCleanlyAndRestartRejoins(t *testing.T) {
	dir := t.TempDir()
	bin := custodesBinary(t)
	// Below the ephemeral range (32768+), where other tests' :0 ports land.
	base := 10000 + (os.Getpid()%40)*250
	args := func(i int) []string {
		return []string{"agent", "--node-id", fmt.Sprintf("n%d", i), "--data-dir", filepath.Join(dir, fmt.Sprint(i)),
			"--http", fmt.Sprintf("127.0.0.1:%d", base+i), "--raft", fmt.Sprintf("127.0.0.1:%d", base+10+i),
			"--gossip", fmt.Sprintf("127.0.0.1:%d", base+20+i), "--bootstrap-expect", "3",
			"--join", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", base+21, base+22, base+23)}
	}
	procs := map[int]*exec.Cmd{}
	start := func(i int) {
		log, _ := os.Create(filepath.Join(dir, fmt.Sprintf("n%d.log", i)))
		cmd := exec.Command(bin, args(i)...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[i] = cmd
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p.ProcessState == nil {
				_ = p.Process.Kill()
				_, _ = p.Process.Wait()
			}
		}
	})
	for i := 1; i <= 3; i++ {
		start(i)
	}
	url := func(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", base+i) }
	var leader int
	waitFor(t, "a leader", 20*time.Second, func() bool {
		st, err := statusAt(url(1))
		if err != nil || st.Leader == nil {
			return false
		}
		leader = atoi(st.Leader.ID[1:])
		return leader > 0
	})
	if code, err := register(url(leader), "before-sigterm"); err != nil || code != 201 {
		t.Fatalf("register: %d %v", code, err)
	}

	began := time.Now()
	if err := procs[leader].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- procs[leader].Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SIGTERM: agent exited with %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not exit within 10s of SIGTERM")
	}
	t.Logf("leader exited 0 after %s", time.Since(began).Round(time.Millisecond))
	survivor := leader%3 + 1
	waitFor(t, "a new leader", 10*time.Second, func() bool {
		st, err := statusAt(url(survivor))
		return err == nil && st.Leader != nil && st.Leader.ID != fmt.Sprintf("n%d", leader)
	})

	start(leader)
	waitFor(t, "the restarted agent to rejoin and serve the data", 20*time.Second, func() bool {
		st, err := statusAt(url(leader))
		return err == nil && st.NodeID == fmt.Sprintf("n%d", leader) && st.Leader != nil &&
			lookupStatus(url(leader), "before-sigterm") == 200
	})
}

func statusAt(base string) (raftStatus, error) {
	var st raftStatus
	resp, err := client.Get(base + "/admin/raft")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, jsonDecode(resp.Body, &st)
}
