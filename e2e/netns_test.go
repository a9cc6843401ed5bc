package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/custodes/custodes/agent/agenttest"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// netCluster is N agents, each in namespace <prefix>-nI at 10.99.0.1I, on a
// bridge in <prefix>-sw, with a veth from the test's namespace at
// 10.99.0.254 so the test reaches every agent as a client would.
type netCluster struct {
	t      *testing.T
	prefix string
	bin    string
	dir    string
	n      int
	procs  map[int]*exec.Cmd
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// canMakeNamespaces says why namespaces cannot be used here, or "".
func canMakeNamespaces() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed"
		}
	}
	return ""
}

func newNetCluster(t *testing.T, n int) *netCluster {
	if why := canMakeNamespaces(); why != "" {
		t.Skip("network namespace tests skipped: " + why)
	}
	dir := t.TempDir()
	bin := custodesBinary(t)
	c := &netCluster{t: t, prefix: fmt.Sprintf("cst%d", os.Getpid()%100000), bin: bin, dir: dir, n: n, procs: map[int]*exec.Cmd{}}
	t.Cleanup(c.cleanup)
	sw := c.prefix + "-sw"
	run(t, "ip", "netns", "add", sw)
	run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ns := c.ns(i)
		run(t, "ip", "netns", "add", ns)
		veth := fmt.Sprintf("veth-n%d", i)
		run(t, "ip", "-n", sw, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run(t, "ip", "-n", sw, "link", "set", veth, "master", "br0")
		run(t, "ip", "-n", sw, "link", "set", veth, "up")
		run(t, "ip", "-n", ns, "addr", "add", c.ip(i)+"/24", "dev", "eth0")
		run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", c.prefix+"c", "type", "veth", "peer", "name", "veth-cli", "netns", sw)
	run(t, "ip", "-n", sw, "link", "set", "veth-cli", "master", "br0")
	run(t, "ip", "-n", sw, "link", "set", "veth-cli", "up")
	run(t, "ip", "addr", "add", "10.99.0.254/24", "dev", c.prefix+"c")
	run(t, "ip", "link", "set", c.prefix+"c", "up")
	for i := 1; i <= n; i++ {
		c.start(i)
	}
	return c
}

func (c *netCluster) ns(i int) string  { return fmt.Sprintf("%s-n%d", c.prefix, i) }
func (c *netCluster) ip(i int) string  { return fmt.Sprintf("10.99.0.%d", 10+i) }
func (c *netCluster) url(i int) string { return "http://" + c.ip(i) + ":8500" }
func (c *netCluster) id(i int) string  { return fmt.Sprintf("n%d", i) }
func (c *netCluster) index(id string) int {
	var i int
	fmt.Sscanf(id, "n%d", &i)
	return i
}

func (c *netCluster) start(i int) {
	log, err := os.Create(filepath.Join(c.dir, c.id(i)+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", c.ns(i), c.bin, "agent",
		"--node-id", c.id(i), "--data-dir", filepath.Join(c.dir, c.id(i)),
		"--http", c.ip(i)+":8500", "--raft", c.ip(i)+":8300", "--gossip", c.ip(i)+":8301",
		"--bootstrap-expect", fmt.Sprint(c.n), "--join", c.ip(1)+":8301", "--leader-wait", "2s", "--log-level", "info")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.procs[i] = cmd
}

// partition drops all traffic between agent i and the other agents at the
// bridge, both directions, TCP and UDP; the client still reaches it.
func (c *netCluster) partition(i int) {
	var rules []string
	for j := 1; j <= c.n; j++ {
		if j != i {
			rules = append(rules,
				fmt.Sprintf("ip saddr %s ip daddr %s drop", c.ip(i), c.ip(j)),
				fmt.Sprintf("ip saddr %s ip daddr %s drop", c.ip(j), c.ip(i)))
		}
	}
	table := "table bridge cst_chaos {\n chain fw {\n  type filter hook forward priority 0; policy accept;\n  " +
		strings.Join(rules, "\n  ") + "\n }\n}\n"
	cmd := exec.Command("ip", "netns", "exec", c.prefix+"-sw", "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(table)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("nft: %v: %s", err, out)
	}
}

func (c *netCluster) heal() {
	run(c.t, "ip", "netns", "exec", c.prefix+"-sw", "nft", "delete", "table", "bridge", "cst_chaos")
}

func (c *netCluster) cleanup() {
	for i, p := range c.procs {
		// ip netns exec replaces itself with the agent (execvp), so this
		// PID is the agent's own.
		_ = p.Process.Signal(syscall.SIGKILL)
		_, _ = p.Process.Wait()
		delete(c.procs, i)
	}
	_ = exec.Command("ip", "link", "del", c.prefix+"c").Run()
	for i := 1; i <= c.n; i++ {
		_ = exec.Command("ip", "netns", "del", c.ns(i)).Run()
	}
	_ = exec.Command("ip", "netns", "del", c.prefix+"-sw").Run()
	if c.t.Failed() {
		for i := 1; i <= c.n; i++ {
			if b, err := os.ReadFile(filepath.Join(c.dir, c.id(i)+".log")); err == nil {
				c.t.Logf("--- %s log (tail) ---\n%s", c.id(i), tail(string(b), 3000))
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var client = &http.Client{Timeout: 5 * time.Second}

type raftStatus struct {
	NodeID string `json:"node_id"`
	State  string `json:"state"`
	Leader *struct {
		ID string `json:"id"`
	} `json:"leader"`
	FSMIndex uint64 `json:"fsm_index"`
}

func (c *netCluster) status(i int) (raftStatus, bool) {
	var st raftStatus
	resp, err := client.Get(c.url(i) + "/admin/raft")
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st) == nil
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	agenttest.WaitFor(t, what, timeout, cond)
}

// leaderAmong returns the agent every listed agent names as leader, or 0.
func (c *netCluster) leaderAmong(agents ...int) int {
	found := 0
	for _, i := range agents {
		st, ok := c.status(i)
		if !ok || st.Leader == nil {
			return 0
		}
		l := c.index(st.Leader.ID)
		if found != 0 && l != found {
			return 0
		}
		found = l
	}
	return found
}

func register(url, name string) (int, error) {
	body, _ := json.Marshal(map[string]string{"name": name, "address": "10.0.0.1:80"})
	resp, err := client.Post(url+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func lookupStatus(url, name string) int {
	resp, err := client.Get(url + "/service/" + name)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
