package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// LeaderInfo names the current leader and where to reach it.
type LeaderInfo struct {
	ID   string `json:"id"`
	Raft string `json:"raft"`
	HTTP string `json:"http"`
}

// Leader returns the current leader as this agent knows it. ok is false if
// no leader is known, or its HTTP address has not arrived through gossip.
func (n *Node) Leader() (LeaderInfo, bool) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return LeaderInfo{}, false
	}
	info := LeaderInfo{ID: string(id), Raft: string(addr)}
	if string(id) == n.cfg.NodeID {
		info.HTTP = n.cfg.HTTPAddr
		return info, true
	}
	m, ok := n.gossip.Member(string(id))
	if !ok || m.HTTP == "" {
		return info, false
	}
	info.HTTP = m.HTTP
	return info, true
}

// WaitForLeader waits, at most LeaderWait, until a leader is known.
func (n *Node) WaitForLeader(ctx context.Context) (LeaderInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaderWait)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if l, ok := n.Leader(); ok {
			return l, nil
		}
		select {
		case <-t.C:
		case <-n.shutdownCh:
			return LeaderInfo{}, ErrShutdown
		case <-ctx.Done():
			return LeaderInfo{}, ErrNoLeader
		}
	}
}

// Members returns the gossip members this agent knows of.
func (n *Node) Members() []Member { return n.gossip.Members() }

// Server is one entry of the Raft configuration.
type Server struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
}

// RaftStatus is what /admin/raft shows.
type RaftStatus struct {
	NodeID       string      `json:"node_id"`
	State        string      `json:"state"`
	Leader       *LeaderInfo `json:"leader"`
	Term         uint64      `json:"term"`
	LastIndex    uint64      `json:"last_index"`
	CommitIndex  uint64      `json:"commit_index"`
	AppliedIndex uint64      `json:"applied_index"`
	FSMIndex     uint64      `json:"fsm_index"`
	// LastSnapshotIndex is the index of this agent's newest snapshot.
	LastSnapshotIndex uint64   `json:"last_snapshot_index"`
	Servers           []Server `json:"servers"`
	// Diverged: this agent's state is not the cluster's and it is
	// resynchronising (cluster/diverge.go).
	Diverged bool `json:"diverged,omitempty"`
}

// Status reads the Raft node's state for operators.
func (n *Node) Status() RaftStatus {
	st := RaftStatus{
		NodeID:       n.cfg.NodeID,
		State:        n.raft.State().String(),
		LastIndex:    n.raft.LastIndex(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		FSMIndex:     n.fsm.AppliedIndex(),
		Servers:      []Server{},
		Diverged:     n.diverged.Load(),
	}
	stats := n.raft.Stats()
	st.Term, _ = strconv.ParseUint(stats["term"], 10, 64)
	st.LastSnapshotIndex, _ = strconv.ParseUint(stats["last_snapshot_index"], 10, 64)
	if l, ok := n.Leader(); ok {
		st.Leader = &l
	} else if addr, id := n.raft.LeaderWithID(); id != "" {
		st.Leader = &LeaderInfo{ID: string(id), Raft: string(addr)}
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Servers = append(st.Servers, Server{ID: string(s.ID), Address: string(s.Address), Suffrage: s.Suffrage.String()})
		}
	}
	return st
}

// Health returns the leader's view of every server's health, asked of the
// leader wherever it is.
// It also returns the leader's id.
func (n *Node) Health(ctx context.Context) (ClusterHealth, string, error) {
	out, by, err := n.callLeader(ctx, OpHealth, nil)
	if err != nil {
		return ClusterHealth{}, by, err
	}
	var h ClusterHealth
	if err := json.Unmarshal(out, &h); err != nil {
		return ClusterHealth{}, by, fmt.Errorf("%w: health from the leader: %v", ErrForward, err)
	}
	return h, by, nil
}

// healthOp is OpHealth's handler on the leader.
func (n *Node) healthOp(context.Context, []byte) ([]byte, error) {
	m := n.membership.Load()
	if m == nil || !n.IsLeader() {
		return nil, ErrNotLeader
	}
	return json.Marshal(m.view())
}

// Ready reports whether this agent knows a leader and has applied what the
// leader told it is committed. Once it has caught up it stays ready while
// it trails by at most MaxTrailingLogs entries, so that /ready does not
// flap under a steady write load.
func (n *Node) Ready() bool {
	if n.diverged.Load() {
		return false
	}
	if _, ok := n.Leader(); !ok {
		return false
	}
	commit, applied := n.raft.CommitIndex(), n.raft.AppliedIndex()
	if commit == 0 {
		return false
	}
	if applied >= commit {
		n.caughtUp.Store(true)
		return true
	}
	return n.caughtUp.Load() && applied+n.cfg.MaxTrailingLogs >= commit
}
