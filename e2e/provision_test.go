package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

// The Vagrantfile's machines, tested without a virtual machine: one
// network namespace per machine on a bridge, provisioned by the same
// scripts (scripts/provision) with PROVISION_NO_SYSTEMD=1, each unit's
// ExecStart run as the script wrote it inside its machine's namespace.

const provisionAgents, provisionFileServers = 3, 3

// machine is one would-be virtual machine.
type machine struct {
	name   string // agent1, fileserver2: the Vagrantfile's names
	script string // agent.sh or fileserver.sh
	unit   string // the unit the script writes
	index  int
	ip     string
	ns     string
	root   string // PROVISION_ROOT: the machine's file system
	proc   *exec.Cmd
}

// provisionRig is the bridge, the machines and what the scripts share.
type provisionRig struct {
	t        *testing.T
	prefix   string
	net      string // CUSTODES_NET
	dir      string
	src      string // stands for /vagrant
	secrets  string // the host's generated secrets
	token    string // the management token
	machines []*machine
}

// canProvisionHere says why the provisioning test cannot run, or "".
func canProvisionHere() string {
	if os.Geteuid() != 0 {
		return "not running as root (network namespaces need it)"
	}
	for _, tool := range []string{"ip", "bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed"
		}
	}
	return ""
}

// TestProvisionScriptsFormTheCluster runs scripts/provision/agent.sh and
// fileserver.sh for three agents and three file servers, each in its own
// namespace at the address the Vagrantfile gives it (CUSTODES_NET is the
// test's own subnet), starts each written unit's ExecStart, waits with
// wait-ready.sh, and checks what `vagrant up` promises: one leader and
// three voters, a registration made on one machine read on another, a
// file written through one agent read back byte for byte through another.
func TestProvisionScriptsFormTheCluster(t *testing.T) {
	if why := canProvisionHere(); why != "" {
		t.Skip("provisioning test skipped: " + why)
	}
	r := newProvisionRig(t)
	for _, m := range r.machines {
		r.provision(m)
	}
	for _, m := range r.machines {
		if m.script == "agent.sh" {
			r.checkAgentUnit(m)
			r.start(m)
		}
	}
	// As `vagrant up` brings them: the agents first, the file servers after.
	for _, m := range r.agents() {
		waitFor(t, m.name+" to answer /ready", 20*time.Second, func() bool { return httpStatus(m, "/ready") == http.StatusOK })
	}
	for _, m := range r.machines {
		if m.script == "fileserver.sh" {
			r.checkFileServerUnit(m)
			r.start(m)
		}
	}
	out := r.script(r.agents()[0], "wait-ready.sh", nil, "CUSTODES_READY_TIMEOUT=25")
	if !strings.Contains(out, "cluster ready") {
		t.Fatalf("wait-ready.sh did not report the cluster ready:\n%s", out)
	}
	t.Logf("wait-ready.sh: %s", strings.TrimSpace(out))

	a1, a2, a3 := r.agents()[0], r.agents()[1], r.agents()[2]
	st := r.raft(a2)
	voters := 0
	for _, s := range st.Servers {
		if s.Suffrage == "Voter" {
			voters++
		}
	}
	if st.Leader == nil || voters != provisionAgents {
		t.Fatalf("agent2's /admin/raft: leader %v, %d voters, want a leader and %d: %+v", st.Leader, voters, provisionAgents, st)
	}

	// `vagrant ssh agent1 -c 'custodes raft'`: the installed binary, in
	// agent1's namespace, with nothing but the /etc/environment the script
	// wrote.
	env, err := os.ReadFile(filepath.Join(a1.root, "etc", "environment"))
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"netns", "exec", a1.ns, "env", "-i"}, strings.Fields(string(env))...)
	argv = append(argv, filepath.Join(a1.root, "usr", "local", "bin", "custodes"), "raft")
	raftOut, err := exec.Command("ip", argv...).CombinedOutput()
	if err != nil || strings.Count(string(raftOut), " yes ") != provisionAgents || !strings.Contains(string(raftOut), " leader ") {
		t.Fatalf("custodes raft on agent1: %v\n%s", err, raftOut)
	}
	t.Logf("custodes raft on agent1:\n%s", raftOut)

	// The registry: written through agent1, read through agent3.
	if code, err := register(agentURL(a1), "provisioned-web"); err != nil || code != http.StatusCreated {
		t.Fatalf("register through agent1: %d %v", code, err)
	}
	waitFor(t, "agent3 to serve the registration made on agent1", 5*time.Second, func() bool {
		return lookupStatus(agentURL(a3), "provisioned-web") == http.StatusOK
	})

	// The file system: a user made with the management token the agents
	// bootstrapped ACLs with, a file written through agent2, read through agent3.
	var user struct {
		Token string `json:"token"`
	}
	waitFor(t, "a user made with the management token", 10*time.Second, func() bool {
		code, body := call(http.MethodPost, agentURL(a1)+"/acl/users", r.token, "application/json",
			[]byte(`{"name":"vagrant","roles":["services:read"]}`))
		return code == http.StatusCreated && json.Unmarshal(body, &user) == nil && user.Token != ""
	})
	content := make([]byte, 300<<10)
	_, _ = rand.Read(content)
	var wcode int
	var wbody []byte
	waitFor(t, "a file written through agent2", 10*time.Second, func() bool {
		// 401 until agent2 has applied the new user.
		wcode, wbody = call(http.MethodPost, agentURL(a2)+"/write?name=provisioned.bin", user.Token, "application/octet-stream", content)
		return wcode != http.StatusUnauthorized
	})
	if wcode != http.StatusCreated {
		t.Fatalf("write through agent2: %d %s", wcode, wbody)
	}
	var got []byte
	waitFor(t, "the file read through agent3", 10*time.Second, func() bool {
		code, body := call(http.MethodGet, agentURL(a3)+"/read?name=provisioned.bin", user.Token, "", nil)
		got = body
		return code == http.StatusOK
	})
	if !bytes.Equal(got, content) {
		t.Fatalf("read through agent3: %d bytes, not the %d written", len(got), len(content))
	}
}

func newProvisionRig(t *testing.T) *provisionRig {
	pid := os.Getpid()
	dir := t.TempDir()
	r := &provisionRig{
		t:       t,
		prefix:  fmt.Sprintf("cstv%d", pid%100000),
		net:     fmt.Sprintf("10.77.%d", pid%250),
		dir:     dir,
		src:     filepath.Join(dir, "src"),
		secrets: filepath.Join(dir, "secrets"),
	}
	// The host's side of `vagrant up`: make build, then the secrets the
	// Vagrantfile generates once.
	bin := filepath.Join(r.src, "bin", "custodes")
	custodesBinaryAt(t, bin)
	key, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatalf("custodes keygen: %v", err)
	}
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	r.token = hex.EncodeToString(tok)
	if err := os.MkdirAll(r.secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"cluster.key": string(key), "management.token": r.token + "\n"} {
		if err := os.WriteFile(filepath.Join(r.secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= provisionAgents; i++ {
		r.machines = append(r.machines, r.machine(fmt.Sprintf("agent%d", i), "agent.sh", "custodes-agent", i,
			fmt.Sprintf("%s.%d", r.net, 10+i), fmt.Sprintf("a%d", i)))
	}
	for i := 1; i <= provisionFileServers; i++ {
		r.machines = append(r.machines, r.machine(fmt.Sprintf("fileserver%d", i), "fileserver.sh", "custodes-fileserver", i,
			fmt.Sprintf("%s.%d", r.net, 100+i), fmt.Sprintf("f%d", i)))
	}
	t.Cleanup(r.cleanup)
	r.network()
	return r
}

func (r *provisionRig) machine(name, script, unit string, i int, ip, short string) *machine {
	return &machine{name: name, script: script, unit: unit, index: i, ip: ip,
		ns: r.prefix + "-" + short, root: filepath.Join(r.dir, "machines", name)}
}

func (r *provisionRig) agents() []*machine { return r.machines[:provisionAgents] }

// network makes the bridge, one namespace per machine on it with the
// machine's address, and a veth from the test's namespace at NET.254.
func (r *provisionRig) network() {
	t, sw := r.t, r.prefix+"-sw"
	run(t, "ip", "netns", "add", sw)
	run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	for _, m := range r.machines {
		port := strings.TrimPrefix(m.ns, r.prefix+"-")
		run(t, "ip", "netns", "add", m.ns)
		run(t, "ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", m.ns)
		run(t, "ip", "-n", sw, "link", "set", port, "master", "br0")
		run(t, "ip", "-n", sw, "link", "set", port, "up")
		run(t, "ip", "-n", m.ns, "addr", "add", m.ip+"/24", "dev", "eth0")
		run(t, "ip", "-n", m.ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", m.ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", r.prefix+"c", "type", "veth", "peer", "name", "cli", "netns", sw)
	run(t, "ip", "-n", sw, "link", "set", "cli", "master", "br0")
	run(t, "ip", "-n", sw, "link", "set", "cli", "up")
	run(t, "ip", "addr", "add", r.net+".254/24", "dev", r.prefix+"c")
	run(t, "ip", "link", "set", r.prefix+"c", "up")
}

// env is what the Vagrantfile gives its provisioners, with the test's
// paths, and no systemd.
func (r *provisionRig) env(m *machine) []string {
	return append(os.Environ(),
		fmt.Sprintf("CUSTODES_AGENTS=%d", provisionAgents),
		fmt.Sprintf("CUSTODES_FILESERVERS=%d", provisionFileServers),
		"CUSTODES_NET="+r.net,
		"CUSTODES_SRC="+r.src,
		"CUSTODES_SECRETS="+r.secrets,
		"PROVISION_ROOT="+m.root,
		"PROVISION_NO_SYSTEMD=1",
	)
}

// script runs scripts/provision/NAME inside m's namespace, as root, as
// the Vagrantfile's shell provisioner runs it inside the machine.
func (r *provisionRig) script(m *machine, name string, args []string, env ...string) string {
	r.t.Helper()
	argv := append([]string{"netns", "exec", m.ns, "bash", filepath.Join("..", "scripts", "provision", name)}, args...)
	cmd := exec.Command("ip", argv...)
	cmd.Env = append(r.env(m), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("%s %v on %s: %v\n%s", name, args, m.name, err, out)
	}
	return string(out)
}

func (r *provisionRig) provision(m *machine) {
	out := r.script(m, m.script, []string{fmt.Sprint(m.index)})
	if !strings.Contains(out, m.name+" provisioned") {
		r.t.Fatalf("%s %d did not say it provisioned %s:\n%s", m.script, m.index, m.name, out)
	}
}

// execStart reads the ExecStart line of the unit the script wrote for m,
// refusing what systemd would expand or unquote, so that running its
// words as they stand is what systemd would run.
func (r *provisionRig) execStart(m *machine) (unit string, argv []string) {
	t := r.t
	path := filepath.Join(m.root, "etc", "systemd", "system", m.unit+".service")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: the unit was not written: %v", m.name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			if strings.ContainsAny(line, `"'\$%;`) {
				t.Fatalf("%s: ExecStart has characters systemd would interpret: %s", path, line)
			}
			argv = strings.Fields(line)
		}
	}
	if len(argv) == 0 {
		t.Fatalf("%s has no ExecStart:\n%s", path, b)
	}
	// systemd's own reading of the unit, where its tools are installed
	// (it needs no running systemd): any complaint naming the file fails.
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		out, _ := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
		if strings.Contains(string(out), path) {
			t.Fatalf("systemd-analyze verify %s:\n%s", path, out)
		}
	}
	if !strings.HasPrefix(argv[0], m.root+"/") {
		t.Fatalf("%s: ExecStart runs %s, not the binary installed under the machine's root %s", path, argv[0], m.root)
	}
	return string(b), argv
}

// checkAgentUnit checks what the issue asks of an agent's unit: expect all
// the agents, join the others, the cluster key from a file only its user reads.
func (r *provisionRig) checkAgentUnit(m *machine) {
	t := r.t
	unit, argv := r.execStart(m)
	line := strings.Join(argv, " ")
	want := []string{"agent", "--node-id " + m.name, fmt.Sprintf("--bootstrap-expect %d", provisionAgents),
		"--http " + m.ip + ":8500", "--encrypt-file " + m.root + "/etc/custodes/cluster.key"}
	var join []string
	for _, a := range r.agents() {
		if a != m {
			join = append(join, a.ip+":8301")
		}
	}
	want = append(want, "--join "+strings.Join(join, ","))
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("%s's ExecStart lacks %q: %s", m.name, w, line)
		}
	}
	if !strings.Contains(unit, "\nUser=custodes\n") || !strings.Contains(unit, "\nWantedBy=multi-user.target\n") {
		t.Errorf("%s's unit does not run as custodes or is not enabled at boot:\n%s", m.name, unit)
	}
	for _, f := range []string{"cluster.key", "management.token"} {
		fi, err := os.Stat(filepath.Join(m.root, "etc", "custodes", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: /etc/custodes/%s: %v, want mode 0600", m.name, f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(m.root, "etc", "environment")); !strings.Contains(string(b), "CUSTODES_HTTP_ADDR="+m.ip+":8500") {
		t.Errorf("%s: /etc/environment does not point the CLI at the agent: %q", m.name, b)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkFileServerUnit: a file server joins every agent with the cluster key.
func (r *provisionRig) checkFileServerUnit(m *machine) {
	_, argv := r.execStart(m)
	line := strings.Join(argv, " ")
	var join []string
	for _, a := range r.agents() {
		join = append(join, a.ip+":8301")
	}
	for _, w := range []string{"fileserver", "--id " + m.name, "--http " + m.ip + ":7101",
		"--join " + strings.Join(join, ","), "--encrypt-file " + m.root + "/etc/custodes/cluster.key"} {
		if !strings.Contains(line, w) {
			r.t.Fatalf("%s's ExecStart lacks %q: %s", m.name, w, line)
		}
	}
}

// start runs m's ExecStart as written, inside m's namespace.
func (r *provisionRig) start(m *machine) {
	_, argv := r.execStart(m)
	log, err := os.Create(filepath.Join(r.dir, m.name+".log"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer log.Close()
	// ip netns exec replaces itself with the program: the PID is custodes'.
	cmd := exec.Command("ip", append([]string{"netns", "exec", m.ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", m.name, err)
	}
	m.proc = cmd
}

func (r *provisionRig) cleanup() {
	for _, m := range r.machines {
		if m.proc != nil {
			_ = m.proc.Process.Signal(syscall.SIGKILL)
			_, _ = m.proc.Process.Wait()
		}
	}
	_ = exec.Command("ip", "link", "del", r.prefix+"c").Run()
	for _, m := range r.machines {
		_ = exec.Command("ip", "netns", "del", m.ns).Run()
	}
	_ = exec.Command("ip", "netns", "del", r.prefix+"-sw").Run()
	if r.t.Failed() {
		for _, m := range r.machines {
			if b, err := os.ReadFile(filepath.Join(r.dir, m.name+".log")); err == nil {
				r.t.Logf("--- %s log (tail) ---\n%s", m.name, tail(string(b), 2000))
			}
		}
	}
}

type provisionedRaft struct {
	Leader *struct {
		ID string `json:"id"`
	} `json:"leader"`
	Servers []struct {
		ID       string `json:"id"`
		Suffrage string `json:"suffrage"`
	} `json:"servers"`
}

func (r *provisionRig) raft(m *machine) provisionedRaft {
	var st provisionedRaft
	code, body := call(http.MethodGet, agentURL(m)+"/admin/raft", "", "", nil)
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
		r.t.Fatalf("%s /admin/raft: %d %s", m.name, code, body)
	}
	return st
}

func agentURL(m *machine) string { return "http://" + m.ip + ":8500" }

func httpStatus(m *machine, path string) int {
	code, _ := call(http.MethodGet, agentURL(m)+path, "", "", nil)
	return code
}

// call makes one request; 0 when it could not be made.
func call(method, url, token, contentType string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, b
}

// keyIsValid reports whether s is a cluster key as `custodes keygen`
// prints one: standard base64 of 32 bytes.
func keyIsValid(s string) bool {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	return err == nil && len(k) == 32
}
