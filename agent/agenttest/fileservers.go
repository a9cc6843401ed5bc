package agenttest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/custodes/custodes/fileserver"
)

// File servers (Options.FileServers) run in the same process: ids
// fs1..fsN, data dirs under the cluster's directory, the cluster's keys
// (and TLS certificates), joined to the agents' gossip. They register with
// the directory on their own; Start does not wait for it.

// fileServerConfig returns file server i's test configuration.
func (c *Cluster) fileServerConfig(i int) fileserver.Config {
	cfg := fileserver.DefaultConfig()
	cfg.ID = fmt.Sprintf("fs%d", i+1)
	cfg.DataDir = fmt.Sprintf("%s/%s", c.root, cfg.ID)
	cfg.HTTPAddr, cfg.GossipAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Keys = c.opts.Keys
	cfg.TLS = c.agentTLS(cfg.ID)
	cfg.RegisterInterval = 50 * time.Millisecond
	cfg.GossipInterval = 50 * time.Millisecond
	cfg.ProbeInterval = 200 * time.Millisecond
	cfg.ProbeTimeout = 100 * time.Millisecond
	cfg.SuspicionMult = 2
	cfg.Logger = slog.New(slog.NewTextHandler(c.out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

// liveGossip returns the gossip addresses of the live agents, agent 0's first.
func (c *Cluster) liveGossip() []string {
	var out []string
	for _, a := range c.Agents {
		if a != nil {
			out = append(out, a.Node().GossipAddr())
		}
	}
	return out
}

// startFileServers starts Options.FileServers file servers.
func (c *Cluster) startFileServers() error {
	for i := range c.opts.FileServers {
		cfg := c.fileServerConfig(i)
		cfg.Join = c.liveGossip()
		if c.opts.FileServerConfigure != nil {
			c.opts.FileServerConfigure(i, &cfg)
		}
		s, err := fileserver.Start(cfg)
		if err != nil {
			return fmt.Errorf("start file server %d: %w", i+1, err)
		}
		c.fileServers = append(c.fileServers, s)
		c.fsCfgs = append(c.fsCfgs, s.Config())
		c.fsAddrs = append(c.fsAddrs, [2]string{s.Addr(), s.GossipAddr()})
	}
	return nil
}

// FileServer returns file server i, nil while it is down.
func (c *Cluster) FileServer(i int) *fileserver.Server { return c.fileServers[i] }

// FileServerURL is file server i's base URL (https in a TLS cluster), at
// the address it had when last started.
func (c *Cluster) FileServerURL(i int) string { return c.scheme() + c.fsAddrs[i][0] }

// FileServerAddr is file server i's HTTP host:port, as it registers it.
func (c *Cluster) FileServerAddr(i int) string { return c.fsAddrs[i][0] }

// KillFileServer stops file server i abruptly: no gossip leave.
func (c *Cluster) KillFileServer(i int) {
	if s := c.fileServers[i]; s != nil {
		s.Kill()
		c.fileServers[i] = nil
	}
}

// SilenceFileServerGossip stops file server i's gossip while it serves.
func (c *Cluster) SilenceFileServerGossip(i int) error {
	if s := c.fileServers[i]; s != nil {
		return s.SilenceGossip()
	}
	return errors.New("file server is not running")
}

// StopFileServer stops file server i gracefully (it leaves gossip).
func (c *Cluster) StopFileServer(i int) {
	if s := c.fileServers[i]; s != nil {
		_ = s.Stop()
		c.fileServers[i] = nil
	}
}

// RestartFileServer starts file server i again with its id and data dir,
// at its former addresses when they are still free (fresh ports
// otherwise), joined to the live agents.
func (c *Cluster) RestartFileServer(i int) error {
	if c.fileServers[i] != nil {
		return errors.New("file server is running")
	}
	cfg := c.fsCfgs[i]
	cfg.Join = c.liveGossip()
	cfg.HTTPAddr, cfg.GossipAddr = c.fsAddrs[i][0], c.fsAddrs[i][1]
	s, err := fileserver.Start(cfg)
	if err != nil {
		cfg.HTTPAddr, cfg.GossipAddr = "127.0.0.1:0", "127.0.0.1:0"
		if s, err = fileserver.Start(cfg); err != nil {
			return err
		}
	}
	c.fileServers[i] = s
	c.fsAddrs[i] = [2]string{s.Addr(), s.GossipAddr()}
	return nil
}

// shutdownFileServers kills every file server.
func (c *Cluster) shutdownFileServers() {
	for i := range c.fileServers {
		c.KillFileServer(i)
	}
}
