package gossip

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/custodes/custodes/keyring"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// Roles a member may publish. Registry agents are Raft servers; file
// servers gossip too but never vote.
const (
	RoleRegistry = "registry"
	RoleFile     = "file"
)

// Member states as a pool reports them.
const (
	StateAlive = "alive"
	StateDead  = "dead"
	StateLeft  = "left"
)

// Meta is what every member publishes about itself. It must stay under
// memberlist's 512-byte limit.
type Meta struct {
	Role         string `json:"role"`
	ID           string `json:"id"`
	Raft         string `json:"raft,omitempty"`
	HTTP         string `json:"http"`
	Expect       int    `json:"expect,omitempty"`
	Bootstrapped bool   `json:"bs,omitempty"`
	// Leaving is published just before a graceful leave: memberlist's
	// leave notification alone does not tell "left" from "dead".
	Leaving bool `json:"leaving,omitempty"`
}

// Member is a member as this pool sees it.
type Member struct {
	Name   string `json:"name"`
	Gossip string `json:"gossip"`
	Raft   string `json:"raft"`
	HTTP   string `json:"http"`
	Role   string `json:"role"`
	// State is alive, dead or left.
	State string `json:"state"`

	// Expect and Bootstrapped are a registry agent's bootstrap metadata.
	Expect       int  `json:"-"`
	Bootstrapped bool `json:"-"`
	Leaving      bool `json:"-"`
}

// Event is a membership change: join, leave or update.
type Event struct {
	Kind   string
	Member Member
}

// Config is one member's gossip configuration.
type Config struct {
	// Name is the member's unique name (a registry agent's node id).
	Name string
	// BindAddr is host:port to bind; port 0 picks a free one.
	BindAddr string
	// Timings (memberlist's).
	GossipInterval time.Duration
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	SuspicionMult  int
	// Keys is the cluster key list: the first encrypts, all decrypt.
	// Empty: gossip is neither encrypted nor authenticated.
	Keys   [][]byte
	Logger hclog.Logger
}

// Pool owns the memberlist instance, this member's metadata and the table
// of members fed by memberlist's events.
type Pool struct {
	ml     *memberlist.Memberlist
	events chan Event
	// bound is the address actually bound (port 0 resolved), read once at
	// start: memberlist's LocalNode is not safe to read later.
	bound string

	mu      sync.RWMutex
	self    Meta
	members map[string]Member
}

// Start binds the pool's listener; Join contacts other members.
func Start(cfg Config, self Meta) (*Pool, error) {
	p := &Pool{events: make(chan Event, 256), self: self, members: map[string]Member{}}
	host, portStr, err := net.SplitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("gossip address: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("gossip port %q: %w", portStr, err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertiseAddr, mc.AdvertisePort = host, port
	mc.GossipInterval = cfg.GossipInterval
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	mc.SuspicionMult = cfg.SuspicionMult
	// A registry must notice a dead peer in seconds: cap how long
	// suspicion may last without confirmations from other members.
	mc.SuspicionMaxTimeoutMult = 3
	mc.PushPullInterval = 10 * cfg.ProbeInterval
	// A restarted member keeps its name but may come back on another
	// address; let it reclaim its name once the old incarnation is dead.
	mc.DeadNodeReclaimTime = time.Millisecond
	if len(cfg.Keys) > 0 {
		// Encrypt and authenticate every packet and stream, and accept
		// no unencrypted ones: a member without the key cannot join.
		if mc.Keyring, err = keyring.Memberlist(cfg.Keys); err != nil {
			return nil, fmt.Errorf("gossip keyring: %w", err)
		}
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	mc.Delegate = p
	mc.Events = p
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	mc.Logger = logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start gossip: %w", err)
	}
	p.ml = ml
	n := ml.LocalNode()
	p.bound = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	return p, nil
}

// Addr is the gossip address actually bound.
func (p *Pool) Addr() string { return p.bound }

// Events delivers membership changes. The pool never blocks on it: when
// nobody reads, events are dropped (readers catch up from Members).
func (p *Pool) Events() <-chan Event { return p.events }

// Join contacts the members at addrs (this member's own address is skipped).
func (p *Pool) Join(addrs []string) error {
	// Joining only oneself would "succeed" and stop the retries that find
	// the others once they are up.
	var others []string
	for _, a := range addrs {
		if a != p.bound {
			others = append(others, a)
		}
	}
	if len(others) == 0 {
		return nil
	}
	_, err := p.ml.Join(others)
	return err
}

// Update changes this member's metadata and publishes it.
func (p *Pool) Update(change func(*Meta)) {
	p.mu.Lock()
	change(&p.self)
	p.mu.Unlock()
	_ = p.ml.UpdateNode(time.Second)
}

// Leave announces a graceful departure, then leaves the pool.
func (p *Pool) Leave(timeout time.Duration) error {
	p.mu.Lock()
	p.self.Leaving = true
	p.mu.Unlock()
	_ = p.ml.UpdateNode(timeout)
	return p.ml.Leave(timeout)
}

// Shutdown stops gossiping at once (no leave message).
func (p *Pool) Shutdown() error { return p.ml.Shutdown() }

// Members returns every member ever seen, sorted by name.
func (p *Pool) Members() []Member {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Member returns the member called name.
func (p *Pool) Member(name string) (Member, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	m, ok := p.members[name]
	return m, ok
}

// toMember reads a memberlist node. memberlist does not keep the Node's
// own State field current, so the state comes from the event kind.
func toMember(n *memberlist.Node, state string) Member {
	var m Meta
	_ = json.Unmarshal(n.Meta, &m) // a member with foreign metadata has no role
	return Member{
		Name: n.Name, Gossip: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))),
		Raft: m.Raft, HTTP: m.HTTP, Role: m.Role, State: state,
		Expect: m.Expect, Bootstrapped: m.Bootstrapped, Leaving: m.Leaving,
	}
}

// record updates the table and queues the event without ever blocking
// memberlist.
func (p *Pool) record(kind string, n *memberlist.Node) {
	state := StateAlive
	p.mu.Lock()
	if kind == "leave" {
		state = StateDead
		if prev, ok := p.members[n.Name]; ok && prev.Leaving {
			state = StateLeft
		}
	}
	m := toMember(n, state)
	if m.Leaving && kind == "leave" {
		m.State = StateLeft
	}
	p.members[m.Name] = m
	p.mu.Unlock()
	select {
	case p.events <- Event{Kind: kind, Member: m}:
	default:
	}
}

// NodeMeta implements memberlist.Delegate.
func (p *Pool) NodeMeta(limit int) []byte {
	p.mu.RLock()
	defer p.mu.RUnlock()
	b, _ := json.Marshal(p.self)
	if len(b) > limit {
		panic(fmt.Sprintf("gossip metadata is %d bytes, over the %d limit", len(b), limit))
	}
	return b
}

// NotifyMsg, GetBroadcasts, LocalState and MergeRemoteState complete
// memberlist.Delegate; custodes sends no user messages over gossip.
func (p *Pool) NotifyMsg([]byte)                           {}
func (p *Pool) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (p *Pool) LocalState(join bool) []byte                { return nil }
func (p *Pool) MergeRemoteState(buf []byte, join bool)     {}

// NotifyJoin, NotifyLeave and NotifyUpdate implement memberlist.EventDelegate.
func (p *Pool) NotifyJoin(n *memberlist.Node)   { p.record("join", n) }
func (p *Pool) NotifyLeave(n *memberlist.Node)  { p.record("leave", n) }
func (p *Pool) NotifyUpdate(n *memberlist.Node) { p.record("update", n) }
