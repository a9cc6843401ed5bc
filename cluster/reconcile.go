package cluster

import (
	"context"
	"sort"
	"time"

	"github.com/custodes/custodes/cluster/gossip"
	"github.com/hashicorp/raft"
)

// reconcile is one pass of the leader's membership work, run after a
// Barrier on gaining leadership, on every gossip event and periodically:
//
//  1. every alive registry agent gossip knows is in the Raft configuration
//     at the address it advertises (new ones as non-voters; adding is
//     idempotent; an old id at a new address is updated, never doubled);
//  2. a non-voter that has stayed healthy (caught up, same term) for
//     ServerStabilization is promoted to voter;
//  3. a server gossip reports dead, confirmed by a failed direct probe of
//     its /alive, is removed: non-voters at once; voters once a replacement
//     was promoted or after DeadServerTimeout, never more than
//     (voters-1)/2 at once and never below MinQuorum voters.
//
// Agents that left gracefully ("left") are never removed here: a rolling
// restart keeps its voters. Decommissioning is the explicit leave call.
func (m *membership) reconcile(ctx context.Context) {
	n := m.n
	f := n.raft.GetConfiguration()
	if err := n.await(f, n.cfg.ApplyTimeout); err != nil {
		return
	}
	servers := f.Configuration().Servers
	m.refresh(ctx, servers)
	if ctx.Err() != nil {
		return
	}
	byID := map[string]raft.Server{}
	for _, s := range servers {
		byID[string(s.ID)] = s
	}

	// 1. Add and update.
	for _, mem := range n.gossip.Members() {
		if mem.Role != RoleRegistry || mem.State != gossip.StateAlive || mem.Raft == "" {
			continue
		}
		s, known := byID[mem.Name]
		if known && string(s.Address) == mem.Raft {
			continue
		}
		var err error
		if known && s.Suffrage == raft.Voter {
			n.cfg.Logger.Info("updating raft peer address", "id", mem.Name, "raft", mem.Raft)
			err = n.await(n.raft.AddVoter(raft.ServerID(mem.Name), raft.ServerAddress(mem.Raft), 0, n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout)
		} else {
			n.cfg.Logger.Info("adding raft peer as non-voter", "id", mem.Name, "raft", mem.Raft)
			err = n.await(n.raft.AddNonvoter(raft.ServerID(mem.Name), raft.ServerAddress(mem.Raft), 0, n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout)
		}
		if err != nil {
			n.cfg.Logger.Warn("raft configuration change failed", "id", mem.Name, "error", err)
		}
	}

	// 2. Promote caught-up non-voters.
	now := time.Now()
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			continue
		}
		h, ok := m.healthOf(string(s.ID))
		if !ok || !h.Healthy || now.Sub(h.HealthySince) < n.cfg.ServerStabilization {
			continue
		}
		n.cfg.Logger.Info("promoting raft peer to voter", "id", s.ID)
		if err := n.await(n.raft.AddVoter(s.ID, s.Address, 0, n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout); err != nil {
			n.cfg.Logger.Warn("promotion failed", "id", s.ID, "error", err)
			continue
		}
		m.mu.Lock()
		m.promotedAt[string(s.ID)] = now
		m.mu.Unlock()
	}

	m.removeDead(ctx, servers, now)
}

// deadVoter is a voter confirmed dead, with when this leader first saw it.
type deadVoter struct {
	id    raft.ServerID
	since time.Time
}

func (m *membership) removeDead(ctx context.Context, servers []raft.Server, now time.Time) {
	n := m.n
	voters := 0
	var dead []deadVoter
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		id := string(s.ID)
		if id == n.cfg.NodeID || !m.confirmedDead(ctx, id, now) {
			m.mu.Lock()
			delete(m.deadSince, id)
			m.mu.Unlock()
			continue
		}
		m.mu.Lock()
		since, seen := m.deadSince[id]
		if !seen {
			since = now
			m.deadSince[id] = now
		}
		m.mu.Unlock()
		if s.Suffrage != raft.Voter {
			n.cfg.Logger.Info("removing dead non-voter", "id", id)
			_ = n.await(n.raft.RemoveServer(s.ID, 0, n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout)
			continue
		}
		dead = append(dead, deadVoter{id: s.ID, since: since})
	}
	if len(dead) == 0 {
		return
	}
	sort.Slice(dead, func(i, j int) bool { return dead[i].since.Before(dead[j].since) })
	// Replacements: voters this leader promoted after the first death.
	m.mu.Lock()
	replacements := 0
	for _, at := range m.promotedAt {
		if at.After(dead[0].since) {
			replacements++
		}
	}
	m.mu.Unlock()
	ids, held := votersToRemove(voters, dead, replacements, now, n.cfg.MinQuorum, n.cfg.DeadServerTimeout)
	if held {
		n.cfg.Logger.Warn("not removing every dead voter: quorum safety", "dead", len(dead), "removing", len(ids), "voters", voters, "min_quorum", n.cfg.MinQuorum)
	}
	for _, id := range ids {
		n.cfg.Logger.Info("removing dead voter", "id", id)
		if err := n.await(n.raft.RemoveServer(id, 0, n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout); err != nil {
			n.cfg.Logger.Warn("remove dead voter failed", "id", id, "error", err)
			return
		}
	}
}

// votersToRemove is the quorum arithmetic of dead-server cleanup, pure so
// it can be tested on its own: of the dead voters (oldest death first) it
// picks those to remove now. A dead voter goes when a replacement was
// promoted since the first death (each replacement covers one) or once it
// has been dead for timeout; never more than (voters-1)/2 in one pass, and
// never so many that fewer than minQuorum voters remain. It stops at the
// first voter it may not remove for quorum's sake, so a later death never
// goes before an earlier one for that reason; held says it stopped so.
func votersToRemove(voters int, dead []deadVoter, replacements int, now time.Time, minQuorum int, timeout time.Duration) (ids []raft.ServerID, held bool) {
	var out []raft.ServerID
	budget := (voters - 1) / 2
	for _, d := range dead {
		if budget == 0 || voters-1 < minQuorum {
			return out, true
		}
		switch {
		case replacements > 0:
			replacements--
		case now.Sub(d.since) >= timeout:
		default:
			continue
		}
		out = append(out, d.id)
		voters--
		budget--
	}
	return out, false
}

// confirmedDead: gossip says the server failed (or, for a server gossip
// never heard of, it stayed unknown for DeadServerTimeout into this term)
// and a direct probe of its /alive fails.
func (m *membership) confirmedDead(ctx context.Context, id string, now time.Time) bool {
	mem, ok := m.n.gossip.Member(id)
	if !ok {
		return now.Sub(m.started) >= m.n.cfg.DeadServerTimeout
	}
	if mem.State != gossip.StateDead {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	return !m.alive(pctx, mem.HTTP)
}
