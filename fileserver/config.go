package fileserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/custodes/custodes/tlsutil"
)

// Config is one file server's configuration.
type Config struct {
	// ID is the server's unique, stable name: its gossip name and the id
	// it registers under.
	ID string
	// DataDir holds the copies (DIR/copies) and temporary files (DIR/tmp).
	DataDir string
	// HTTPAddr and GossipAddr are host:port to bind; port 0 picks a free one.
	HTTPAddr   string
	GossipAddr string
	// Join lists gossip addresses of agents (or other members) to join.
	Join []string
	// Keys is the cluster key list (keyring.Parse): gossip encryption and
	// the HTTP signatures. Empty: neither.
	Keys [][]byte
	// TLS: with files named, the HTTP server is HTTPS (peers verified as
	// the agent's --tls-verify-incoming says) and calls to agents and other
	// file servers use HTTPS with the certificate.
	TLS tlsutil.Config
	// Agents lists HTTP addresses of agents to register with; empty: the
	// HTTP addresses of the gossip members of role registry.
	Agents []string
	// RegisterInterval is the first wait between registration attempts;
	// it doubles after every failure up to 16 times itself.
	RegisterInterval time.Duration
	// MaxCopySize bounds the body of a PUT of a copy.
	MaxCopySize int64
	// ScrubInterval is the time between two scrubs (every copy re-read,
	// its CRCs and SHA-256 checked, a bad one marked corrupt); 0: none.
	ScrubInterval time.Duration
	// ScrubRate bounds a scrub's reads, in bytes a second (0: the
	// default, negative: no bound), so it does not starve serving.
	ScrubRate int64
	// Gossip timings (memberlist's).
	GossipInterval time.Duration
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	SuspicionMult  int
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

// DefaultMaxCopySize is the default bound of a copy: 1 GiB and a little.
const DefaultMaxCopySize = 1<<30 + 1<<20

// Scrub defaults: once a day, at 32 MiB/s.
const (
	DefaultScrubInterval       = 24 * time.Hour
	DefaultScrubRate     int64 = 32 << 20
)

// DefaultConfig returns the defaults: the gossip timings are the agent's.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:         "127.0.0.1:7101",
		GossipAddr:       "127.0.0.1:7102",
		RegisterInterval: time.Second,
		MaxCopySize:      DefaultMaxCopySize,
		ScrubInterval:    DefaultScrubInterval,
		ScrubRate:        DefaultScrubRate,
		GossipInterval:   100 * time.Millisecond,
		ProbeInterval:    400 * time.Millisecond,
		ProbeTimeout:     200 * time.Millisecond,
		SuspicionMult:    2,
	}
}

// Validate checks c and fills in what is missing with defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("id is required"))
	} else if strings.ContainsAny(c.ID, " \t\n/") || len(c.ID) > 64 {
		errs = append(errs, fmt.Errorf("id %q: no spaces or slashes, at most 64 bytes", c.ID))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	for name, addr := range map[string]string{"http": c.HTTPAddr, "gossip": c.GossipAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s address %q: %w", name, addr, err))
		}
	}
	for _, a := range c.Agents {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("agent address %q: %w", a, err))
		}
	}
	if c.ScrubInterval < 0 {
		errs = append(errs, fmt.Errorf("scrub interval %v: 0 (none) or more", c.ScrubInterval))
	}
	d := DefaultConfig()
	if c.ScrubRate == 0 {
		c.ScrubRate = d.ScrubRate
	}
	if c.RegisterInterval <= 0 {
		c.RegisterInterval = d.RegisterInterval
	}
	if c.MaxCopySize <= 0 {
		c.MaxCopySize = d.MaxCopySize
	}
	if c.GossipInterval <= 0 {
		c.GossipInterval = d.GossipInterval
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = d.ProbeInterval
	}
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = d.ProbeTimeout
	}
	if c.SuspicionMult <= 0 {
		c.SuspicionMult = d.SuspicionMult
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}
