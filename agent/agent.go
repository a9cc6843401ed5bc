package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/custodes/custodes/api"
	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/directory"
	"github.com/custodes/custodes/health"
	"github.com/custodes/custodes/replication"
	"github.com/custodes/custodes/tlsutil"
)

// Config is one agent's whole configuration.
type Config struct {
	// HTTPAddr is the host:port to serve the API on; port 0 picks one.
	HTTPAddr string
	Cluster  cluster.Config
	API      api.Config
	Health   health.Config
	// Directory tunes the file system's directory (--replicas,
	// --max-file-size).
	Directory directory.Config
	// Replication tunes the leader's sweep (--replication-interval,
	// --replication-concurrency, --orphan-grace).
	Replication replication.Config
	// TLS names the certificate files; Validate loads them into
	// Cluster.TLS (tls.go).
	TLS tlsutil.Config

	// HTTP bounds the HTTP server (limits.go).
	HTTP HTTPConfig
}

// DefaultConfig returns a LAN agent's defaults.
func DefaultConfig() Config {
	return Config{HTTPAddr: "127.0.0.1:8500", HTTP: DefaultHTTPConfig(), Cluster: cluster.DefaultConfig(), API: api.DefaultConfig(), Health: health.DefaultConfig(), Directory: directory.DefaultConfig(), Replication: replication.DefaultConfig()}
}

// Validate checks the whole configuration. Until the listener resolves a
// port 0, the cluster layer sees the HTTP bind address.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("http address %q: %v", c.HTTPAddr, err)
	}
	if err := c.HTTP.Validate(); err != nil {
		return err
	}
	if err := c.API.Limits.Validate(); err != nil {
		return err
	}
	if c.Cluster.HTTPAddr == "" {
		c.Cluster.HTTPAddr = c.HTTPAddr
	}
	if err := c.loadTLS(); err != nil {
		return err
	}
	if err := c.Cluster.Validate(); err != nil {
		return err
	}
	if err := c.Directory.Validate(); err != nil {
		return err
	}
	if err := c.Replication.Validate(); err != nil {
		return err
	}
	if err := c.API.ACL.Validate(); err != nil {
		return err
	}
	if len(c.Cluster.Keys) == 0 && (c.API.ACL.Default == api.ACLDeny || c.API.ACL.InitialManagementToken != "") {
		// Without a key the agents' own protocol is open to anyone who
		// reaches the port, so tokens could be bypassed there.
		return errors.New("ACLs (--acl-default deny, --initial-management-token-file) need a cluster key: set --encrypt, --encrypt-file or CUSTODES_ENCRYPT (custodes keygen makes one)")
	}
	// One key list for both layers: the api verifies what cluster signs.
	c.API.Keys = c.Cluster.Keys
	// The write limit runs after authorization, which refuses a token no
	// user holds: every token it sees is verified, so it may count per
	// token.
	c.API.Limits.PerToken = true
	if c.API.Logger == nil {
		c.API.Logger = c.Cluster.Logger
	}
	if c.Health.Logger == nil {
		c.Health.Logger = c.Cluster.Logger
	}
	return nil
}

// Agent is a running registry agent.
type Agent struct {
	cfg    Config
	ln     net.Listener
	srv    *http.Server
	node   *cluster.Node
	health *health.Checker
	api    *api.Server
	dir    *directory.Directory
	done   chan struct{}
}

// Start listens, joins or forms the cluster and serves the API.
func Start(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	cfg.Cluster.HTTPAddr = ln.Addr().String()
	// The connection limit counts TCP connections; TLS wraps what it
	// admits, so that the server sees *tls.Conn (r.TLS, peer certificates).
	// A refused connection's plain 503 is lost on a TLS client, which sees
	// the connection close.
	served := serveTLS(limitConns(ln, cfg.HTTP.MaxConnections), cfg)
	logKeyState(cfg)
	node, err := cluster.New(cfg.Cluster)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	bootstrapInitialToken(node, cfg.API.ACL, cfg.Cluster.Logger)
	checker := health.New(node, cfg.Health)
	checker.Start()
	dir, client, err := newDirectory(node, cfg)
	var sweep *replication.Sweeper
	if err == nil {
		sweep, err = newSweeper(node, client, cfg)
	}
	if err != nil {
		checker.Stop()
		node.Shutdown()
		_ = ln.Close()
		return nil, err
	}
	a := &Agent{cfg: cfg, ln: ln, node: node, health: checker, dir: dir, api: api.New(node, checker, dir, sweep, cfg.API), done: make(chan struct{})}
	a.srv = newHTTPServer(a.api.Handler(), cfg.HTTP)
	a.srv.ErrorLog = serverErrorLog(cfg)
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(served); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Cluster.Logger.Error("http server stopped", "error", err)
		}
	}()
	return a, nil
}

// Left is closed when the agent has decommissioned itself (POST
// /admin/leave); its owner should then shut it down.
func (a *Agent) Left() <-chan struct{} { return a.node.Left() }

// Resync is closed when the agent's state diverged from the cluster's and
// it must be restarted to resynchronise (cluster/diverge.go).
func (a *Agent) Resync() <-chan struct{} { return a.node.Resync() }

// Node is the agent's cluster layer.
func (a *Agent) Node() *cluster.Node { return a.node }

// HTTPAddr is the address the API is served on.
func (a *Agent) HTTPAddr() string { return a.ln.Addr().String() }

// Config returns the configuration with every port resolved, so a restart
// with it comes back at the same addresses.
func (a *Agent) Config() Config {
	c := a.cfg
	c.HTTPAddr = a.HTTPAddr()
	c.Cluster.RaftAddr = a.node.RaftAddr()
	c.Cluster.GossipAddr = a.node.GossipAddr()
	return c
}

// Shutdown stops accepting requests, lets in-flight ones finish until ctx
// ends (blocking queries are cut then), and stops the cluster layer
// without leaving the Raft configuration.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.api.Close() // ends event streams, which Shutdown would wait for
	err := a.srv.Shutdown(ctx)
	if err != nil {
		_ = a.srv.Close()
	}
	<-a.done
	a.health.Stop()
	a.dir.Close()
	a.node.Shutdown()
	a.api.Close()
	return err
}

// Kill stops the agent abruptly, as a crash would (used by tests).
func (a *Agent) Kill() {
	_ = a.srv.Close()
	<-a.done
	a.health.Stop()
	a.dir.Close()
	a.node.Kill()
	a.api.Close()
}

// Health is the agent's health checker.
func (a *Agent) Health() *health.Checker { return a.health }
