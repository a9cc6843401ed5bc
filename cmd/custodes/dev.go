package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/keyring"
)

// runDev starts a whole local cluster in one process: n agents on
// loopback, data in a temporary directory unless --data-dir is given.
func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "keep the cluster's data here (default: a temporary directory, removed on exit)")
	nodes := fs.Int("nodes", 3, "number of agents")
	portBase := fs.Int("port-base", 8500, "agent i serves HTTP on port-base+i, Raft on port-base+100+i, gossip on port-base+200+i")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	gc := gcFlag(fs)
	limits := agent.DefaultConfig()
	limitFlags(fs, &limits)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := setGC(*gc); err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		return 2
	}
	if err := limits.HTTP.Validate(); err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		return 2
	}
	if err := limits.API.Limits.Validate(); err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		return 2
	}
	if *nodes < 1 || *nodes > 9 {
		fmt.Fprintln(stderr, "custodes dev: --nodes must be from 1 to 9")
		return 2
	}
	logger, err := newLogger(stderr, *level)
	if err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		return 2
	}
	dir := *dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "custodes-dev-"); err != nil {
			fmt.Fprintln(stderr, "custodes dev:", err)
			return 1
		}
		defer os.RemoveAll(dir)
	}

	// The dev cluster is keyed like a production one, so what works
	// against it works against a keyed cluster; the key is printed for
	// `custodes leave` and signed calls.
	key, err := keyring.Generate()
	if err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		return 1
	}
	keys, err := keyring.Parse(key)
	if err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		return 1
	}

	var agents []*agent.Agent
	stopAll := func() {
		var wg sync.WaitGroup
		for _, a := range agents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_ = a.Shutdown(ctx)
			}()
		}
		wg.Wait()
	}
	for i := 1; i <= *nodes; i++ {
		cfg := agent.DefaultConfig()
		cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", *portBase+i)
		cfg.HTTP, cfg.API.Limits = limits.HTTP, limits.API.Limits
		cfg.Cluster = cluster.DefaultConfig()
		cfg.Cluster.NodeID = fmt.Sprintf("dev%d", i)
		cfg.Cluster.DataDir = filepath.Join(dir, cfg.Cluster.NodeID)
		cfg.Cluster.RaftAddr = fmt.Sprintf("127.0.0.1:%d", *portBase+100+i)
		cfg.Cluster.GossipAddr = fmt.Sprintf("127.0.0.1:%d", *portBase+200+i)
		cfg.Cluster.BootstrapExpect = *nodes
		cfg.Cluster.Logger = logger.With("node", cfg.Cluster.NodeID)
		cfg.Cluster.Keys = keys
		if i > 1 {
			cfg.Cluster.Join = []string{fmt.Sprintf("127.0.0.1:%d", *portBase+201)}
		}
		a, err := agent.Start(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "custodes dev: agent %s: %v\n", cfg.Cluster.NodeID, err)
			stopAll()
			return 1
		}
		agents = append(agents, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	leader, err := agents[0].Node().WaitForLeader(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "custodes dev: no leader elected:", err)
		stopAll()
		return 1
	}
	fmt.Fprintf(stdout, "custodes dev: %d agents, data in %s, leader %s\n", len(agents), dir, leader.ID)
	for _, a := range agents {
		fmt.Fprintf(stdout, "  %-5s http://%s   raft %s   gossip %s\n", a.Node().ID(), a.HTTPAddr(), a.Node().RaftAddr(), a.Node().GossipAddr())
	}
	fmt.Fprintf(stdout, "  cluster key %s\n  (custodes leave --http %s --encrypt %s)\n", key, agents[len(agents)-1].HTTPAddr(), key)
	first := "http://" + agents[0].HTTPAddr()
	fmt.Fprintf(stdout, "\nTry:\n  curl -s -XPOST %s/register -d '{\"name\":\"web\",\"address\":\"127.0.0.1:9000\",\"version\":\"1.0.0\"}'\n", first)
	fmt.Fprintf(stdout, "  curl -s %s/service/web\n  curl -s %s/admin/raft\n\nCtrl-C stops the cluster.\n", first, first)
	<-signalled()
	fmt.Fprintln(stdout, "custodes dev: stopping")
	stopAll()
	return 0
}
