package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/keyring"
	"github.com/custodes/custodes/tlsutil"
)

// Config holds everything one registry agent's cluster layer needs.
type Config struct {
	NodeID  string
	DataDir string
	// RaftAddr and GossipAddr are host:port to bind; port 0 picks a free one.
	RaftAddr   string
	GossipAddr string
	// HTTPAddr is the agent's HTTP address as other agents reach it; gossip
	// carries it so followers can forward to the leader.
	HTTPAddr string
	// BootstrapExpect: bootstrap once this many registry agents are seen and
	// none has Raft state. 0 means never bootstrap (join an existing cluster).
	BootstrapExpect int
	// Join lists gossip addresses of agents to contact at start.
	Join []string

	// Raft timings.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64

	// Gossip timings (memberlist).
	GossipInterval time.Duration
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	SuspicionMult  int

	// ReconcileInterval is how often the leader reconciles gossip membership
	// into the Raft configuration even without membership events.
	ReconcileInterval time.Duration
	// DeadServerTimeout: a dead voter with no replacement is removed after
	// this long. MinQuorum: dead-server cleanup never leaves fewer voters.
	DeadServerTimeout time.Duration
	MinQuorum         int
	// ServerStabilization: how long a new server must stay healthy before
	// it is promoted to voter; MaxTrailingLogs: how far behind the leader's
	// applied index it may be and still count as healthy.
	ServerStabilization time.Duration
	MaxTrailingLogs     uint64
	// LeaderWait bounds how long a call waits for a leader before failing
	// with ErrNoLeader.
	LeaderWait time.Duration
	// ApplyTimeout bounds how long a write may wait to be enqueued.
	ApplyTimeout time.Duration
	// ApplyGroups is how many groups of proposals the leader lets into
	// Raft at once; proposals arriving meanwhile enter together as the
	// next group (one Raft batch). 0 sends each proposal to Raft directly.
	ApplyGroups int
	// ForwardInFlight is how many groups of commands a follower keeps out
	// to the leader at once; commands arriving meanwhile wait and leave
	// together in the next call. ForwardTimeout bounds one such call.
	ForwardInFlight int
	ForwardTimeout  time.Duration
	// MaxSnapshotBytes bounds an operator's snapshot archive sent to be
	// restored (spooled to DataDir first), and the state inside it once
	// decompressed (--max-snapshot-bytes); 0 is DefaultMaxSnapshotBytes.
	MaxSnapshotBytes int64

	// FSM holds the limits the state machine's Validate applies to
	// requests (the shortest check interval and deregister_after).
	FSM fsm.Config

	// Keys is the cluster key list (keyring.Parse): the first encrypts
	// gossip and signs agent-to-agent calls, every one decrypts and
	// verifies. Empty: gossip and calls go unencrypted and unsigned.
	Keys [][]byte

	// TLS, when set, is the agent's TLS material (tlsutil.Load): Raft
	// runs over mutual TLS, calls to peers use https and present the
	// agent's certificate, and with VerifyIncoming the internal routes
	// refuse callers without a certificate from the CA. Every agent of a
	// cluster must share the mode. Nil: plain TCP and http.
	TLS *tlsutil.TLS

	// Logger receives custodes' own lines and, through an hclog adapter,
	// Raft's and memberlist's.
	Logger *slog.Logger
}

// DefaultConfig returns timings for agents on one LAN.
func DefaultConfig() Config {
	return Config{
		RaftAddr:            "127.0.0.1:7001",
		GossipAddr:          "127.0.0.1:7002",
		HeartbeatTimeout:    200 * time.Millisecond,
		ElectionTimeout:     200 * time.Millisecond,
		LeaderLeaseTimeout:  100 * time.Millisecond,
		CommitTimeout:       20 * time.Millisecond,
		SnapshotThreshold:   8192,
		SnapshotInterval:    60 * time.Second,
		TrailingLogs:        10240,
		GossipInterval:      100 * time.Millisecond,
		ProbeInterval:       400 * time.Millisecond,
		ProbeTimeout:        200 * time.Millisecond,
		SuspicionMult:       2,
		ReconcileInterval:   time.Second,
		DeadServerTimeout:   5 * time.Minute,
		MinQuorum:           3,
		ServerStabilization: 2 * time.Second,
		MaxTrailingLogs:     250,
		LeaderWait:          5 * time.Second,
		ApplyTimeout:        5 * time.Second,
		ApplyGroups:         1,
		ForwardInFlight:     16,
		ForwardTimeout:      15 * time.Second,
		FSM:                 fsm.DefaultConfig(),
	}
}

// TestConfig returns short timings for in-process clusters on loopback.
func TestConfig() Config {
	c := DefaultConfig()
	c.RaftAddr, c.GossipAddr = "127.0.0.1:0", "127.0.0.1:0"
	// 200 ms: at 50 ms, then at 100 ms once a headless browser ran beside
	// the clusters (the dashboard's tests), a leader on a loaded 2-core
	// machine (race detector on, two test packages at once) stepped down
	// now and then, failing writes in flight with "leadership lost" and
	// leaving the cluster leaderless for seconds. The lease equals the
	// heartbeat timeout. Tests wait on conditions, so only elections get
	// slower (a few hundred milliseconds).
	c.HeartbeatTimeout = 200 * time.Millisecond
	c.ElectionTimeout = 200 * time.Millisecond
	c.LeaderLeaseTimeout = 200 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.GossipInterval = 50 * time.Millisecond
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.ReconcileInterval = 200 * time.Millisecond
	c.ServerStabilization = 300 * time.Millisecond
	c.LeaderWait = 5 * time.Second
	return c
}

// Validate checks the configuration and fills in what can be derived.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeID == "" {
		errs = append(errs, errors.New("node id is required"))
	} else if strings.ContainsAny(c.NodeID, " \t\n/") || len(c.NodeID) > 64 {
		errs = append(errs, fmt.Errorf("node id %q: at most 64 characters, no spaces or slashes", c.NodeID))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	for name, addr := range map[string]string{"raft": c.RaftAddr, "gossip": c.GossipAddr, "http": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s address %q: %v", name, addr, err))
		}
	}
	if c.BootstrapExpect < 0 {
		errs = append(errs, errors.New("bootstrap-expect must not be negative"))
	}
	if c.BootstrapExpect == 0 && len(c.Join) == 0 {
		errs = append(errs, errors.New("give --bootstrap-expect N to form a new cluster, or --join to join one"))
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		errs = append(errs, errors.New("leader lease timeout must not exceed the heartbeat timeout"))
	}
	if c.MinQuorum < 1 {
		errs = append(errs, errors.New("min-quorum must be at least 1"))
	}
	if c.ReconcileInterval <= 0 || c.DeadServerTimeout <= 0 {
		errs = append(errs, errors.New("reconcile interval and dead-server timeout must be positive"))
	}
	if c.ApplyGroups < 0 || c.ApplyGroups > 64 {
		errs = append(errs, fmt.Errorf("apply-groups %d: use 0 (no grouping) to 64", c.ApplyGroups))
	}
	if c.ForwardInFlight < 1 || c.ForwardInFlight > 256 {
		errs = append(errs, fmt.Errorf("forward-in-flight %d: use 1 to 256", c.ForwardInFlight))
	}
	if c.MaxSnapshotBytes == 0 {
		c.MaxSnapshotBytes = DefaultMaxSnapshotBytes
	} else if c.MaxSnapshotBytes < 0 {
		errs = append(errs, errors.New("max snapshot bytes must not be negative"))
	}
	if c.ForwardTimeout <= 0 {
		errs = append(errs, errors.New("forward timeout must be positive"))
	}
	if c.ProbeTimeout >= c.ProbeInterval {
		errs = append(errs, errors.New("gossip probe timeout must be shorter than the probe interval"))
	}
	if c.FSM == (fsm.Config{}) {
		// An unset Config would accept a check every nanosecond.
		c.FSM = fsm.DefaultConfig()
	}
	if len(c.Keys) > 0 {
		if _, err := keyring.Memberlist(c.Keys); err != nil {
			errs = append(errs, fmt.Errorf("cluster key: %v", err))
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}
