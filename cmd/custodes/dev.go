package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/api"
	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fileserver"
	"github.com/custodes/custodes/keyring"
	"github.com/custodes/custodes/tlsutil"
)

// runDev starts a whole local cluster in one process: n agents on
// loopback, data in a temporary directory unless --data-dir is given.
func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "keep the cluster's data here (default: a temporary directory, removed on exit)")
	nodes := fs.Int("nodes", 3, "number of agents")
	fileServers := fs.Int("file-servers", 3, "number of file servers (HTTP on port-base+50+i, gossip on port-base+250+i)")
	portBase := fs.Int("port-base", 8500, "agent i serves HTTP on port-base+i, Raft on port-base+100+i, gossip on port-base+200+i")
	var logf logFlags
	logf.bind(fs, "warn")
	withTLS := fs.Bool("tls", false, "serve over TLS: a CA and one certificate per agent are made under DATA-DIR/tls")
	gc := gcFlag(fs)
	var aclf aclFlags
	var aclCfg api.ACLConfig
	aclf.bind(fs, &aclCfg)
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
	if err := aclf.load(&aclCfg); err != nil {
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
	if *fileServers < 0 || *fileServers > 9 {
		fmt.Fprintln(stderr, "custodes dev: --file-servers must be from 0 to 9")
		return 2
	}
	logger, err := logf.logger(stderr)
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

	var devTLS func(name string) (tlsutil.Config, error)
	if *withTLS {
		if devTLS, err = devCerts(filepath.Join(dir, "tls")); err != nil {
			fmt.Fprintln(stderr, "custodes dev:", err)
			return 1
		}
	}

	var agents []*agent.Agent
	var servers []*fileserver.Server
	stopAll := func() {
		for _, s := range servers {
			_ = s.Stop()
		}
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
		if devTLS != nil {
			if cfg.TLS, err = devTLS(cfg.Cluster.NodeID); err != nil {
				fmt.Fprintln(stderr, "custodes dev:", err)
				stopAll()
				return 1
			}
		}
		cfg.API.ACL = aclCfg
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
	for i := 1; i <= *fileServers; i++ {
		cfg := fileserver.DefaultConfig()
		cfg.ID = fmt.Sprintf("fs%d", i)
		cfg.DataDir = filepath.Join(dir, cfg.ID)
		cfg.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", *portBase+50+i)
		cfg.GossipAddr = fmt.Sprintf("127.0.0.1:%d", *portBase+250+i)
		cfg.Join = []string{agents[0].Node().GossipAddr()}
		cfg.Keys = keys
		cfg.Logger = logger.With("fileserver", cfg.ID)
		if devTLS != nil {
			if cfg.TLS, err = devTLS(cfg.ID); err != nil {
				fmt.Fprintln(stderr, "custodes dev:", err)
				stopAll()
				return 1
			}
		}
		s, err := fileserver.Start(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "custodes dev: file server %s: %v\n", cfg.ID, err)
			stopAll()
			return 1
		}
		servers = append(servers, s)
	}
	if err := waitRegistered(ctx, servers); err != nil {
		fmt.Fprintln(stderr, "custodes dev:", err)
		stopAll()
		return 1
	}
	fmt.Fprintf(stdout, "custodes dev: %d agents, %d file servers, data in %s, leader %s\n", len(agents), len(servers), dir, leader.ID)
	for _, a := range agents {
		fmt.Fprintf(stdout, "  %-5s %s   raft %s   gossip %s\n", a.Node().ID(), a.URL(), a.Node().RaftAddr(), a.Node().GossipAddr())
	}
	for _, s := range servers {
		fmt.Fprintf(stdout, "  %-5s %s   (file server)   gossip %s\n", s.ID(), s.Addr(), s.GossipAddr())
	}
	fmt.Fprintf(stdout, "  cluster key %s\n  (custodes leave --http %s --encrypt %s)\n", key, agents[len(agents)-1].HTTPAddr(), key)
	first, curl, client := agents[0].URL(), "curl -s", http.DefaultClient
	if devTLS != nil {
		ca := filepath.Join(dir, "tls", tlsutil.CAFile)
		curl = "curl -s --cacert " + ca
		fmt.Fprintf(stdout, "  TLS: CA %s (custodes leave ... --tls-ca %s)\n", ca, ca)
		if client, err = caClient(ca); err != nil {
			fmt.Fprintln(stderr, "custodes dev:", err)
			stopAll()
			return 1
		}
	}
	management, demo, err := devACL(client, first, aclCfg.InitialManagementToken)
	if err != nil {
		fmt.Fprintln(stderr, "custodes dev: acl:", err)
		stopAll()
		return 1
	}
	fmt.Fprintf(stdout, "  acl default %s\n  management token %s\n  demo user token  %s   (services:write)\n", aclCfg.Default, management, demo)
	fmt.Fprintf(stdout, "\nTry:\n  "+curl+" -XPOST %s/register -H 'Content-Type: application/json' -H \"Authorization: Bearer %s\" -d '{\"name\":\"web\",\"address\":\"127.0.0.1:9000\",\"version\":\"1.0.0\"}'\n", first, demo)
	fmt.Fprintf(stdout, "  "+curl+" -H \"Authorization: Bearer %s\" %s/service/web\n  "+curl+" -H \"Authorization: Bearer %s\" %s/admin/raft\n", demo, first, demo, first)
	if len(servers) > 0 {
		second := agents[len(agents)-1].URL()
		auth := fmt.Sprintf("-H \"Authorization: Bearer %s\"", demo)
		fmt.Fprintf(stdout, "\nThe file system (the demo user's files):\n")
		fmt.Fprintf(stdout, "  echo hello > /tmp/hello.txt\n")
		fmt.Fprintf(stdout, "  %s %s --data-binary @/tmp/hello.txt '%s/write?name=docs/hello.txt'\n", curl, auth, first)
		fmt.Fprintf(stdout, "  %s %s '%s/read?name=docs/hello.txt'\n", curl, auth, second)
		fmt.Fprintf(stdout, "  %s %s -XPOST '%s/lock?name=docs/hello.txt&ttl=60s'          # gives a token\n", curl, auth, first)
		fmt.Fprintf(stdout, "  %s %s -H 'X-Lock-Token: TOKEN' --data-binary 'hello again' '%s/update?name=docs/hello.txt'\n", curl, auth, first)
		fmt.Fprintf(stdout, "  %s %s %s/all\n", curl, auth, second)
		fmt.Fprintf(stdout, "  %s -H \"Authorization: Bearer %s\" %s/admin/dfs\n", curl, management, first)
	}
	// The CLI's default address is the agent's (127.0.0.1:8500), not this
	// cluster's: say how to point it here.
	cliEnv := fmt.Sprintf("CUSTODES_HTTP_ADDR=%s CUSTODES_TOKEN=%s", first, management)
	if devTLS != nil {
		cliEnv += " CUSTODES_CACERT=" + filepath.Join(dir, "tls", tlsutil.CAFile)
	}
	fmt.Fprintf(stdout, "\nThe CLI (custodes help lists its commands):\n  export %s\n  custodes raft; custodes members; custodes services; custodes dfs\n", cliEnv)
	fmt.Fprintf(stdout, "\nThe dashboard: %s/ui/ (it asks for the management token above)\n", first)
	fmt.Fprintf(stdout, "\nCtrl-C stops the cluster.\n")
	superviseDev(agents, signalled(), stderr)
	fmt.Fprintln(stdout, "custodes dev: stopping")
	stopAll()
	return 0
}

// superviseDev waits for stop, meanwhile starting again any agent that
// asks to be restarted to resynchronise (cluster/diverge.go), as systemd
// does for `custodes agent`. It replaces the agents it restarts in place.
func superviseDev(agents []*agent.Agent, stop <-chan struct{}, stderr io.Writer) {
	resync := make(chan int)
	watch := func(i int) {
		a := agents[i]
		go func() {
			select {
			case <-a.Resync():
				select {
				case resync <- i:
				case <-stop:
				}
			case <-stop:
			}
		}()
	}
	for i := range agents {
		watch(i)
	}
	for {
		select {
		case <-stop:
			return
		case i := <-resync:
			cfg := agents[i].Config()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = agents[i].Shutdown(ctx)
			cancel()
			a, err := agent.Start(cfg)
			if err != nil {
				fmt.Fprintf(stderr, "custodes dev: restarting %s to resynchronise: %v\n", cfg.Cluster.NodeID, err)
				continue
			}
			agents[i] = a
			fmt.Fprintf(stderr, "custodes dev: restarted %s to resynchronise it from the leader\n", cfg.Cluster.NodeID)
			watch(i)
		}
	}
}

// devCerts makes a CA in dir and returns a function that issues each
// agent's certificate, as `custodes tls ca` and `custodes tls cert` would.
func devCerts(dir string) (func(name string) (tlsutil.Config, error), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, _, err := tlsutil.WriteCA(dir, true)
	if err != nil {
		return nil, err
	}
	return func(name string) (tlsutil.Config, error) {
		if _, err := tlsutil.WriteCert(ca, dir, name, nil, nil, true); err != nil {
			return tlsutil.Config{}, err
		}
		cert, key := tlsutil.CertFiles(name)
		return tlsutil.Config{
			CertFile: filepath.Join(dir, cert), KeyFile: filepath.Join(dir, key),
			CAFile: filepath.Join(dir, tlsutil.CAFile), VerifyIncoming: true,
		}, nil
	}, nil
}

// waitRegistered waits until every file server is registered with the
// directory.
func waitRegistered(ctx context.Context, servers []*fileserver.Server) error {
	for {
		done := true
		for _, s := range servers {
			if !s.Registered() {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the file servers did not register within 15s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
