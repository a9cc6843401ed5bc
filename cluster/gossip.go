package cluster

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

// RoleRegistry marks a gossip member that is a registry agent (a Raft
// server). Other roles (file servers, later) gossip too but never vote.
const RoleRegistry = "registry"

// meta is what every agent publishes about itself through gossip. It must
// stay under memberlist's 512-byte limit.
type meta struct {
	Role         string `json:"role"`
	ID           string `json:"id"`
	Raft         string `json:"raft"`
	HTTP         string `json:"http"`
	Expect       int    `json:"expect,omitempty"`
	Bootstrapped bool   `json:"bs,omitempty"`
	// Leaving is published just before a graceful leave: memberlist's
	// leave notification alone does not tell "left" from "dead".
	Leaving bool `json:"leaving,omitempty"`
}

// Member is a gossip member as this agent sees it.
type Member struct {
	Name   string `json:"name"`
	Gossip string `json:"gossip"`
	Raft   string `json:"raft"`
	HTTP   string `json:"http"`
	Role   string `json:"role"`
	// State is alive, suspect, dead or left.
	State string `json:"state"`

	expect       int
	bootstrapped bool
	leaving      bool
}

// memberEvent is queued for the leader's reconcile loop.
type memberEvent struct {
	kind   string // join, leave, update
	member Member
}

// gossip owns the memberlist instance, this agent's metadata and the
// membership table fed by memberlist's events.
type gossip struct {
	ml     *memberlist.Memberlist
	events chan memberEvent
	// bound is the gossip address actually bound (port 0 resolved), read
	// once at start: memberlist's LocalNode is not safe to read later.
	bound string

	mu      sync.RWMutex
	self    meta
	members map[string]Member
}

// toMember reads a memberlist node. memberlist does not keep the Node's
// own State field current, so the state comes from the event kind.
func toMember(n *memberlist.Node, state string) Member {
	var m meta
	_ = json.Unmarshal(n.Meta, &m) // a member with foreign metadata has no role
	return Member{
		Name: n.Name, Gossip: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))),
		Raft: m.Raft, HTTP: m.HTTP, Role: m.Role, State: state,
		expect: m.Expect, bootstrapped: m.Bootstrapped, leaving: m.Leaving,
	}
}

func newGossip(cfg *Config, self meta, logger hclog.Logger) (*gossip, error) {
	g := &gossip{
		events:  make(chan memberEvent, 256),
		self:    self,
		members: map[string]Member{},
	}
	host, portStr, err := net.SplitHostPort(cfg.GossipAddr)
	if err != nil {
		return nil, fmt.Errorf("gossip address: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("gossip port %q: %w", portStr, err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.NodeID
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
	// A restarted agent keeps its name but may come back on another address;
	// let it reclaim its name once the old incarnation is dead.
	mc.DeadNodeReclaimTime = time.Millisecond
	if len(cfg.Keys) > 0 {
		// Encrypt and authenticate every packet and stream, and accept
		// no unencrypted ones: an agent without the key cannot join.
		if mc.Keyring, err = keyring.Memberlist(cfg.Keys); err != nil {
			return nil, fmt.Errorf("gossip keyring: %w", err)
		}
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	mc.Delegate = g
	mc.Events = g
	mc.Logger = logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start gossip: %w", err)
	}
	g.ml = ml
	n := ml.LocalNode()
	g.bound = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	return g, nil
}

func (g *gossip) join(addrs []string) error {
	// Joining only oneself would "succeed" and stop the retries that find
	// the others once they are up.
	var others []string
	for _, a := range addrs {
		if a != g.bound {
			others = append(others, a)
		}
	}
	if len(others) == 0 {
		return nil
	}
	_, err := g.ml.Join(others)
	return err
}

// setBootstrapped publishes that this agent has Raft state, so agents that
// arrive later never bootstrap a second cluster.
func (g *gossip) setBootstrapped() {
	g.mu.Lock()
	g.self.Bootstrapped = true
	g.mu.Unlock()
	_ = g.ml.UpdateNode(time.Second)
}

// leave announces a graceful departure, then leaves the gossip pool.
func (g *gossip) leave(timeout time.Duration) error {
	g.mu.Lock()
	g.self.Leaving = true
	g.mu.Unlock()
	_ = g.ml.UpdateNode(timeout)
	return g.ml.Leave(timeout)
}

// list returns every member ever seen, sorted by name.
func (g *gossip) list() []Member {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (g *gossip) member(name string) (Member, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	m, ok := g.members[name]
	return m, ok
}

// record updates the table and queues the event without ever blocking
// memberlist: if the queue is full the event is dropped and the leader's
// periodic reconcile catches up.
func (g *gossip) record(kind string, n *memberlist.Node) {
	state := "alive"
	g.mu.Lock()
	if kind == "leave" {
		state = "dead"
		if prev, ok := g.members[n.Name]; ok && prev.leaving {
			state = "left"
		}
	}
	m := toMember(n, state)
	if m.leaving && kind == "leave" {
		m.State = "left"
	}
	g.members[m.Name] = m
	g.mu.Unlock()
	select {
	case g.events <- memberEvent{kind: kind, member: m}:
	default:
	}
}

// NodeMeta implements memberlist.Delegate.
func (g *gossip) NodeMeta(limit int) []byte {
	g.mu.RLock()
	defer g.mu.RUnlock()
	b, _ := json.Marshal(g.self)
	if len(b) > limit {
		panic(fmt.Sprintf("gossip metadata is %d bytes, over the %d limit", len(b), limit))
	}
	return b
}

// NotifyMsg, GetBroadcasts, LocalState and MergeRemoteState complete
// memberlist.Delegate; custodes sends no user messages over gossip.
func (g *gossip) NotifyMsg([]byte)                           {}
func (g *gossip) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (g *gossip) LocalState(join bool) []byte                { return nil }
func (g *gossip) MergeRemoteState(buf []byte, join bool)     {}

// NotifyJoin, NotifyLeave and NotifyUpdate implement memberlist.EventDelegate.
func (g *gossip) NotifyJoin(n *memberlist.Node)   { g.record("join", n) }
func (g *gossip) NotifyLeave(n *memberlist.Node)  { g.record("leave", n) }
func (g *gossip) NotifyUpdate(n *memberlist.Node) { g.record("update", n) }
