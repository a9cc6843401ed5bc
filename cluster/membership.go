package cluster

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster/gossip"
	"github.com/hashicorp/raft"
)

// ServerHealth is one Raft server as the leader sees it.
type ServerHealth struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Voter    bool   `json:"voter"`
	// Gossip is the member's gossip state (alive, dead, left, unknown).
	Gossip  string `json:"gossip"`
	Healthy bool   `json:"healthy"`
	// LastContact is when the leader last reached the server's API.
	LastContact  time.Time `json:"last_contact"`
	AppliedIndex uint64    `json:"applied_index"`
	Term         uint64    `json:"term"`
	HealthySince time.Time `json:"healthy_since"`
}

// ClusterHealth is what /admin/health shows: the leader's view.
type ClusterHealth struct {
	Leader  string         `json:"leader"`
	Servers []ServerHealth `json:"servers"`
	Voters  int            `json:"voters"`
	// FailureTolerance is how many more voters may fail with the cluster
	// still able to elect a leader and commit.
	FailureTolerance   int  `json:"failure_tolerance"`
	CanTolerateFailure bool `json:"can_tolerate_failure"`
}

// membership is the leader's per-term state for reconciling gossip into
// the Raft configuration: server health, when voters were first seen
// dead, and which servers this leader promoted (replacements).
type membership struct {
	n       *Node
	started time.Time

	mu         sync.Mutex
	health     map[string]*ServerHealth
	deadSince  map[string]time.Time
	promotedAt map[string]time.Time
}

func newMembership(n *Node) *membership {
	return &membership{
		n: n, started: time.Now(),
		health: map[string]*ServerHealth{}, deadSince: map[string]time.Time{}, promotedAt: map[string]time.Time{},
	}
}

// probe asks a server for its Raft status over the internal protocol.
func (m *membership) probe(ctx context.Context, httpAddr string) (RaftStatus, bool) {
	return m.n.probeStatus(ctx, httpAddr)
}

// alive asks a server directly whether it answers: the confirmation
// gossip's verdict needs before anything is removed.
func (m *membership) alive(ctx context.Context, httpAddr string) bool {
	return m.n.probeAlive(ctx, httpAddr)
}

// refresh probes every server in the configuration, in parallel.
func (m *membership) refresh(ctx context.Context, servers []raft.Server) {
	ctx, cancel := context.WithTimeout(ctx, min(time.Second, m.n.cfg.ReconcileInterval))
	defer cancel()
	term := m.n.Status().Term
	leaderApplied := m.n.raft.AppliedIndex()
	now := time.Now()
	var wg sync.WaitGroup
	results := make([]ServerHealth, len(servers))
	for i, s := range servers {
		results[i] = ServerHealth{
			ID: string(s.ID), Address: string(s.Address), Suffrage: s.Suffrage.String(),
			Voter: s.Suffrage == raft.Voter, Gossip: "unknown",
		}
		if string(s.ID) == m.n.cfg.NodeID {
			results[i].Gossip, results[i].Healthy = gossip.StateAlive, true
			results[i].LastContact, results[i].AppliedIndex, results[i].Term = now, leaderApplied, term
			continue
		}
		mem, ok := m.n.gossip.Member(string(s.ID))
		if !ok {
			continue
		}
		results[i].Gossip = mem.State
		wg.Add(1)
		go func(h *ServerHealth, addr string) {
			defer wg.Done()
			st, ok := m.probe(ctx, addr)
			if !ok {
				return
			}
			h.LastContact, h.AppliedIndex, h.Term = time.Now(), st.AppliedIndex, st.Term
			// Caught up, and not ahead: a diverged server (diverge.go)
			// is never promoted.
			h.Healthy = h.Gossip == gossip.StateAlive && st.Term == term &&
				h.AppliedIndex+m.n.cfg.MaxTrailingLogs >= leaderApplied && !aheadOf(h.AppliedIndex, leaderApplied)
		}(&results[i], mem.HTTP)
	}
	wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	next := map[string]*ServerHealth{}
	for i := range results {
		h := &results[i]
		if old, ok := m.health[h.ID]; ok {
			if h.LastContact.IsZero() {
				h.LastContact = old.LastContact
			}
			if h.Healthy && old.Healthy {
				h.HealthySince = old.HealthySince
			}
		}
		if h.Healthy && h.HealthySince.IsZero() {
			h.HealthySince = now
		}
		next[h.ID] = h
	}
	m.health = next
}

// view returns the leader's health view.
func (m *membership) view() ClusterHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := ClusterHealth{Leader: m.n.cfg.NodeID, Servers: []ServerHealth{}}
	healthyVoters := 0
	for _, h := range m.health {
		out.Servers = append(out.Servers, *h)
		if h.Voter {
			out.Voters++
			if h.Healthy {
				healthyVoters++
			}
		}
	}
	sort.Slice(out.Servers, func(i, j int) bool { return out.Servers[i].ID < out.Servers[j].ID })
	out.FailureTolerance = max(0, healthyVoters-(out.Voters/2+1))
	out.CanTolerateFailure = out.FailureTolerance > 0
	return out
}

func (m *membership) healthOf(id string) (ServerHealth, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.health[id]
	if !ok {
		return ServerHealth{}, false
	}
	return *h, true
}
