package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/custodes/custodes/bench"
)

// runBench measures a running cluster started by scripts/cluster.sh;
// `custodes bench dfs` measures the directory (bench_dfs.go).
func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "dfs":
			return runBenchDFS(args[1:], stdout, stderr)
		case "sink":
			return runBenchSink(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("custodes bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("cluster-dir", "./tmp/cluster", "directory of a cluster started by scripts/cluster.sh")
	script := fs.String("cluster-script", "scripts/cluster.sh", "the script that restarts a killed agent")
	duration := fs.Duration("duration", 5*time.Second, "length of each load run")
	concs := fs.String("concurrency", "1,16,64", "comma-separated concurrencies")
	trials := fs.Int("failover-trials", 5, "leader kills to time (0 skips)")
	checkInterval := fs.Duration("check-interval", time.Second, "check interval for the exclusion measurement (0 skips)")
	out := fs.String("out", "", "append the markdown report to this file (default: stdout only)")
	opsFlag := fs.String("ops", "register,lookup,stale", "comma-separated operations to run: register, lookup, stale")
	through := fs.String("through", "follower,leader", "comma-separated agents to drive: follower, leader")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var levels []int
	for _, s := range strings.Split(*concs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1024 {
			fmt.Fprintf(stderr, "custodes bench: bad concurrency %q\n", s)
			return 2
		}
		levels = append(levels, n)
	}
	ops, err := pick(*opsFlag, "register", "lookup", "stale")
	if err != nil {
		fmt.Fprintln(stderr, "custodes bench: --ops:", err)
		return 2
	}
	roles, err := pick(*through, "follower", "leader")
	if err != nil {
		fmt.Fprintln(stderr, "custodes bench: --through:", err)
		return 2
	}
	agents := &scriptAgents{dir: *dir, script: *script}
	urls := agents.URLs()
	if len(urls) == 0 {
		fmt.Fprintf(stderr, "custodes bench: no agents in %s (start one with scripts/cluster.sh start)\n", *dir)
		return 2
	}
	c := bench.Client(levels[len(levels)-1])
	var all []string
	for _, u := range urls {
		all = append(all, u)
	}
	leader, followers, err := bench.Roles(c, all)
	if err != nil {
		fmt.Fprintln(stderr, "custodes bench:", err)
		return 1
	}
	var report strings.Builder
	fmt.Fprintf(&report, "## Run of %s\n\n%s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&report, "Cluster: %d agents as separate processes on loopback (scripts/cluster.sh, default LAN timings), "+
		"load generator in a fourth process on the same machine; %s per run.\n\n", len(urls), *duration)

	// Warm-up: the services the lookups read.
	warm := bench.Run(leader, 8, time.Second, bench.Register("look"))
	fmt.Fprintf(stderr, "warm-up: %d registrations\n", warm.Ops)
	var results []bench.Result
	run := func(op, role, target string, conc int, f func() bench.Result) {
		// Read the PIDs per run: they are the agents' as the run starts.
		pids, err := agents.PIDs()
		if err != nil {
			fmt.Fprintln(stderr, "custodes bench: no CPU figures for this run:", err)
		}
		r := bench.WithCPU(pids, f)
		r.Op, r.Target = op, role
		results = append(results, r)
		cpu := "agents CPU unknown"
		if d, ok := r.AgentCPUPerOp(); ok {
			self, _ := r.SelfCPUPerOp()
			cpu = fmt.Sprintf("agents CPU %s/op bench CPU %s/op", d.Round(time.Microsecond), self.Round(time.Microsecond))
		}
		fmt.Fprintf(stderr, "%-13s %-8s c=%-3d %8.0f ops/s p50 %-10s p99 %-10s errors %d %s\n", op, role, conc, r.PerSecond(), r.P50, r.P99, r.Errors, cpu)
	}
	for _, role := range []struct{ name, url string }{{"follower", followers[0]}, {"leader", leader}} {
		if !roles[role.name] {
			continue
		}
		for _, n := range levels {
			if ops["register"] {
				run("register", role.name, role.url, n, func() bench.Result { return bench.Run(role.url, n, *duration, bench.Register("bench")) })
			}
		}
		for _, n := range levels {
			if ops["lookup"] {
				run("lookup", role.name, role.url, n, func() bench.Result { return bench.Run(role.url, n, *duration, bench.Lookup("look", "")) })
			}
		}
		for _, n := range levels {
			if ops["stale"] {
				run("lookup ?stale", role.name, role.url, n, func() bench.Result { return bench.Run(role.url, n, *duration, bench.Lookup("look", "?stale")) })
			}
		}
	}
	report.WriteString("### Throughput and latency\n\n" + bench.Table(results) + "\n")

	if *checkInterval > 0 {
		d, err := bench.CheckExclusion(c, followers[0], *checkInterval, 2)
		if err != nil {
			fmt.Fprintf(&report, "Check exclusion: failed: %v\n\n", err)
		} else {
			fmt.Fprintf(&report, "### Health check to lookup\n\nFrom a service's /alive failing to lookups excluding it "+
				"(check interval %s, timeout %s, failures_before_critical 2): **%s**.\n\n", *checkInterval, *checkInterval/2, d.Round(time.Millisecond))
		}
	}
	if *trials > 0 {
		ts, err := bench.Failover(c, agents, *trials)
		var fo, det []time.Duration
		report.WriteString("### Leader failover and failure detection\n\n| trial | killed | failover (kill -9 → write acknowledged via a survivor) | detection (kill -9 → gossip reports dead) |\n|---:|---|---:|---:|\n")
		for i, t := range ts {
			fo, det = append(fo, t.Failover), append(det, t.Detection)
			fmt.Fprintf(&report, "| %d | %s | %s | %s |\n", i+1, t.Killed, t.Failover.Round(time.Millisecond), t.Detection.Round(time.Millisecond))
		}
		fmt.Fprintf(&report, "\nMedian failover **%s**, median detection **%s** over %d trials.\n\n", bench.Median(fo).Round(time.Millisecond), bench.Median(det).Round(time.Millisecond), len(ts))
		if err != nil {
			fmt.Fprintf(&report, "The failover run stopped early: %v\n\n", err)
		}
	}
	fmt.Fprint(stdout, report.String())
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "custodes bench:", err)
			return 1
		}
		defer f.Close()
		if _, err := f.WriteString(report.String()); err != nil {
			fmt.Fprintln(stderr, "custodes bench:", err)
			return 1
		}
	}
	return 0
}

// pick parses a comma-separated subset of known.
func pick(list string, known ...string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(known, v) {
			return nil, fmt.Errorf("unknown %q (known: %s)", v, strings.Join(known, ", "))
		}
		out[v] = true
	}
	return out, nil
}

// machine describes where the numbers were taken.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
	}
	commit := "unknown"
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("Machine: %d cores (%s)%s, %s/%s, %s, commit %s.\n", runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, runtime.Version(), commit)
}

// scriptAgents is a cluster started by scripts/cluster.sh: node i's
// address and pid are in DIR/nodeI.http and DIR/nodeI.pid.
type scriptAgents struct{ dir, script string }

func (s *scriptAgents) URLs() map[string]string {
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(s.dir, "node*.http"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		id := strings.TrimSuffix(filepath.Base(f), ".http")
		out[id] = "http://" + strings.TrimSpace(string(b))
	}
	return out
}

// pid reads node id's PID, as cluster.sh recorded it when it started it.
func (s *scriptAgents) pid(id string) (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, id+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// PIDs are the running agents' PIDs (a node whose process is gone, or a
// zombie, is an error: its CPU time would be missing from the sum).
func (s *scriptAgents) PIDs() ([]int, error) {
	var pids []int
	for id := range s.URLs() {
		pid, err := s.pid(id)
		if err != nil {
			return nil, err
		}
		if !running(pid) {
			return nil, fmt.Errorf("%s (pid %d) is not running", id, pid)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

func (s *scriptAgents) Kill(id string) error {
	pid, err := s.pid(id)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for range 500 { // dead within milliseconds; bound the wait
		if !running(pid) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// running: the process exists and is not a zombie (an orphaned agent stays
// a zombie until init reaps it, which can take seconds).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func (s *scriptAgents) Restart(id string) error {
	out, err := exec.Command("bash", s.script, "--dir", s.dir, "start-node", strings.TrimPrefix(id, "node")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("restart %s: %v: %s", id, err, out)
	}
	return nil
}
