package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/custodes/custodes/fileserver"
)

// listFlag appends the comma-separated values of a flag to *dst.
func listFlag(dst *[]string) func(string) error {
	return func(v string) error {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				*dst = append(*dst, a)
			}
		}
		return nil
	}
}

// fileserverFlags binds a file server's flags to cfg.
func fileserverFlags(fs *flag.FlagSet, cfg *fileserver.Config, log *logFlags) {
	fs.StringVar(&cfg.ID, "id", "", "unique, stable id of this file server (required)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "directory for the copies (required)")
	fs.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "HTTP address host:port of the file protocol (registered with the directory)")
	fs.StringVar(&cfg.GossipAddr, "gossip", cfg.GossipAddr, "gossip (memberlist) address host:port")
	fs.Func("join", "comma-separated gossip addresses of agents to join", listFlag(&cfg.Join))
	fs.Func("agents", "comma-separated HTTP addresses of agents to register with (default: the agents seen in gossip)", listFlag(&cfg.Agents))
	fs.DurationVar(&cfg.RegisterInterval, "register-interval", cfg.RegisterInterval, "first wait between registration attempts (doubles up to 16 times)")
	fs.Int64Var(&cfg.MaxCopySize, "max-copy-size", cfg.MaxCopySize, "largest copy accepted, in bytes")
	fs.DurationVar(&cfg.ScrubInterval, "scrub-interval", cfg.ScrubInterval, "re-read every copy (CRC-32C and SHA-256 checked; a bad one is marked corrupt, never served) this often; 0 disables")
	fs.Int64Var(&cfg.ScrubRate, "scrub-rate", cfg.ScrubRate, "a scrub reads at most this many bytes a second (negative: no bound)")
	fs.DurationVar(&cfg.ProbeInterval, "gossip-probe-interval", cfg.ProbeInterval, "gossip failure-detection probe interval")
	log.bind(fs, "info")
	tlsFlags(fs, &cfg.TLS)
}

func runFileserver(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "leave" {
		return runFileserverLeave(args[1:], stdout, stderr)
	}
	return runFileserverUntil(args, stderr, signalled())
}

// runFileserverUntil runs a file server until stop is closed.
func runFileserverUntil(args []string, stderr io.Writer, stop <-chan struct{}) int {
	cfg := fileserver.DefaultConfig()
	var logf logFlags
	fs := flag.NewFlagSet("custodes fileserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fileserverFlags(fs, &cfg, &logf)
	var key keyFlags
	key.bind(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "custodes fileserver: unexpected arguments %q\n", fs.Args())
		return 2
	}
	logger, err := logf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "custodes fileserver:", err)
		return 2
	}
	cfg.Logger = logger
	keys, source, err := key.load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "custodes fileserver: cluster key:", err)
		return 2
	}
	cfg.Keys = keys
	if source != "" {
		logger.Info("cluster key loaded", "from", source, "keys", len(keys))
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "custodes fileserver:", err)
		return 2
	}
	s, err := fileserver.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "custodes fileserver:", err)
		return 1
	}
	<-stop
	logger.Info("shutting down", "id", cfg.ID)
	_ = s.Stop()
	return 0
}
