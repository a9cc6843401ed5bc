package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/custodes/custodes/agent"
)

// agentFlags binds one agent's flags to cfg.
func agentFlags(fs *flag.FlagSet, cfg *agent.Config, log *logFlags) {
	c := &cfg.Cluster
	fs.StringVar(&c.NodeID, "node-id", "", "unique, stable id of this agent (required)")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory for the Raft log, stable store and snapshots (required)")
	fs.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "HTTP API address host:port")
	fs.StringVar(&c.RaftAddr, "raft", c.RaftAddr, "Raft transport address host:port")
	fs.StringVar(&c.GossipAddr, "gossip", c.GossipAddr, "gossip (memberlist) address host:port")
	fs.IntVar(&c.BootstrapExpect, "bootstrap-expect", 0, "bootstrap a new cluster once this many agents are seen")
	fs.Func("join", "comma-separated gossip addresses of agents to join", func(v string) error {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.Join = append(c.Join, a)
			}
		}
		return nil
	})
	fs.DurationVar(&c.HeartbeatTimeout, "raft-heartbeat-timeout", c.HeartbeatTimeout, "Raft heartbeat timeout")
	fs.DurationVar(&c.ElectionTimeout, "raft-election-timeout", c.ElectionTimeout, "Raft election timeout")
	fs.DurationVar(&c.LeaderLeaseTimeout, "raft-leader-lease-timeout", c.LeaderLeaseTimeout, "Raft leader lease timeout")
	fs.DurationVar(&c.ProbeInterval, "gossip-probe-interval", c.ProbeInterval, "gossip failure-detection probe interval")
	fs.DurationVar(&c.LeaderWait, "leader-wait", c.LeaderWait, "how long a request waits for a leader before 503")
	fs.DurationVar(&c.DeadServerTimeout, "dead-server-timeout", c.DeadServerTimeout, "remove a dead voter with no replacement after this long")
	fs.IntVar(&c.MinQuorum, "min-quorum", c.MinQuorum, "dead-server cleanup never leaves fewer voters than this")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", c.ReconcileInterval, "how often the leader reconciles gossip into the Raft configuration")
	fs.IntVar(&c.ApplyGroups, "apply-groups", c.ApplyGroups, "groups of writes the leader lets into Raft at once (0: no grouping)")
	fs.IntVar(&c.ForwardInFlight, "forward-in-flight", c.ForwardInFlight, "groups of writes a follower keeps out to the leader at once")
	fs.BoolVar(&cfg.API.EnableDebug, "enable-debug", false, "serve Go's profiler under /debug/pprof/")
	log.bind(fs, "info")
	tlsFlags(fs, &cfg.TLS)
	limitFlags(fs, cfg)
	dfsFlags(fs, cfg)
}

// gcFlag binds --gc-percent. The agent's default (400) trades memory for
// CPU: the heap may grow to five times the live state between
// collections instead of twice; at Go's 100 the collector took 10-16 % of
// an agent's CPU under write load (docs/ARCHITECTURE.md). A GOGC
// environment variable, when set, wins; GOMEMLIMIT bounds the heap.
func gcFlag(fs *flag.FlagSet) *int {
	return fs.Int("gc-percent", 400, "garbage collector target percentage (Go's GOGC; the GOGC environment variable wins when set)")
}

// setGC applies --gc-percent unless GOGC is set in the environment.
func setGC(percent int) error {
	if percent < 25 {
		return fmt.Errorf("gc-percent %d: use at least 25", percent)
	}
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(percent)
	}
	return nil
}

// logFlags are --log-level and --log-format.
type logFlags struct{ level, format string }

func (l *logFlags) bind(fs *flag.FlagSet, level string) {
	fs.StringVar(&l.level, "log-level", level, "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text (key=value) or json (one JSON object a line)")
}

// logger builds the logger the flags ask for, writing to w.
func (l logFlags) logger(w io.Writer) (*slog.Logger, error) { return newLogger(w, l.level, l.format) }

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}

func runAgent(args []string, stdout, stderr io.Writer) int {
	cfg := agent.DefaultConfig()
	var logf logFlags
	fs := flag.NewFlagSet("custodes agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	agentFlags(fs, &cfg, &logf)
	var key keyFlags
	key.bind(fs)
	var aclf aclFlags
	aclf.bind(fs, &cfg.API.ACL)
	gc := gcFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := setGC(*gc); err != nil {
		fmt.Fprintln(stderr, "custodes agent:", err)
		return 2
	}
	logger, err := logf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "custodes agent:", err)
		return 2
	}
	cfg.Cluster.Logger = logger
	keys, source, err := key.load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "custodes agent: cluster key:", err)
		return 2
	}
	cfg.Cluster.Keys = keys
	if err := aclf.load(&cfg.API.ACL); err != nil {
		fmt.Fprintln(stderr, "custodes agent:", err)
		return 2
	}
	if source != "" {
		logger.Info("cluster key loaded", "from", source, "keys", len(keys))
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "custodes agent:", err)
		return 2
	}
	a, err := agent.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "custodes agent:", err)
		return 1
	}
	logger.Info("agent started", "node", cfg.Cluster.NodeID, "http", a.HTTPAddr(),
		"raft", a.Node().RaftAddr(), "gossip", a.Node().GossipAddr())
	code := 0
	select {
	case <-signalled():
	case <-a.Left():
		logger.Info("left the cluster", "node", cfg.Cluster.NodeID)
	case <-a.Resync():
		// Its state diverged; the next start discards its Raft log and
		// snapshots. A supervisor (systemd's Restart=always) starts it
		// again; exitResync tells it apart from a failure.
		logger.Error("exiting to resynchronise: start this agent again", "node", cfg.Cluster.NodeID, "exit_code", exitResync)
		code = exitResync
	}
	logger.Info("shutting down", "node", cfg.Cluster.NodeID)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = a.Shutdown(ctx)
	return code
}

// exitResync is the agent's exit code when it stops to resynchronise.
const exitResync = 3

// signalled is closed on the first SIGINT or SIGTERM.
func signalled() <-chan struct{} {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		<-ch
		signal.Stop(ch)
		close(done)
	}()
	return done
}
