package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/hashicorp/raft"
)

// RemovePeerRequest is OpRemovePeer's argument.
type RemovePeerRequest struct {
	ID string `json:"id"`
}

// RemovePeer removes server id from the Raft configuration, on the leader
// wherever it is, refusing when the voters left could not form a quorum
// among themselves.
func (n *Node) RemovePeer(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaderWait)
	defer cancel()
	arg, err := json.Marshal(RemovePeerRequest{ID: id})
	if err != nil {
		return err
	}
	_, _, err = n.callLeader(ctx, OpRemovePeer, arg)
	return err
}

// removePeerOp is OpRemovePeer's handler: its argument came from the
// network, so it is decoded strictly and checked.
func (n *Node) removePeerOp(ctx context.Context, arg []byte) ([]byte, error) {
	var req RemovePeerRequest
	dec := json.NewDecoder(bytes.NewReader(arg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: remove-peer: the argument is not {\"id\": ...}", fsm.ErrInvalid)
	}
	if req.ID == "" || len(req.ID) > 256 {
		return nil, fmt.Errorf("%w: remove-peer: id must be 1 to 256 bytes", fsm.ErrInvalid)
	}
	if err := n.removePeer(ctx, req.ID); err != nil {
		return nil, err
	}
	return []byte("{}"), nil
}

func (n *Node) removePeer(ctx context.Context, id string) error {
	if !n.IsLeader() {
		return ErrNotLeader
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raftError(err)
	}
	var target *raft.Server
	voters, healthyOthers := 0, 0
	// Judge safety on a fresh probe of every server, not the view the last
	// reconcile pass left: a voter that died a moment ago must not count.
	m := n.membership.Load()
	if m == nil {
		return ErrNotLeader
	}
	m.refresh(ctx, f.Configuration().Servers)
	healthy := map[string]bool{}
	for _, h := range m.view().Servers {
		healthy[h.ID] = h.Healthy
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			target = &s
		}
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if string(s.ID) != id && (healthy[string(s.ID)] || string(s.ID) == n.cfg.NodeID) {
			healthyOthers++
		}
	}
	if target == nil {
		return fmt.Errorf("%w: %q is not in the raft configuration", ErrUnknownPeer, id)
	}
	if target.Suffrage == raft.Voter {
		remaining := voters - 1
		if remaining < 1 || healthyOthers < remaining/2+1 {
			return fmt.Errorf("%w: removing %q leaves %d voters of which only %d are healthy", ErrUnsafe, id, remaining, healthyOthers)
		}
	}
	if id == n.cfg.NodeID {
		return fmt.Errorf("%w: the leader cannot remove itself; transfer leadership first", ErrUnsafe)
	}
	return raftError(n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error())
}

// transferLeadership hands leadership to another voter, bounded in time, so
// that stopping the leader costs one quick handover, not an election
// timeout.
func (n *Node) transferLeadership() {
	if !n.IsLeader() {
		return
	}
	done := make(chan error, 1)
	go func() { done <- n.raft.LeadershipTransfer().Error() }()
	select {
	case err := <-done:
		if err != nil {
			n.cfg.Logger.Warn("leadership transfer failed", "error", err)
		}
	case <-time.After(3 * n.cfg.ElectionTimeout):
		n.cfg.Logger.Warn("leadership transfer timed out")
	}
}

// Leave decommissions this agent: it leaves gossip (so the leader's
// reconcile never adds it back), hands leadership over if it has it, asks
// the leader to remove it from the Raft configuration, and then closes
// Left(). The caller shuts the agent down afterwards.
func (n *Node) Leave(ctx context.Context) error {
	if err := n.gossip.Leave(time.Second); err != nil {
		n.cfg.Logger.Warn("gossip leave", "error", err)
	}
	n.transferLeadership()
	if err := n.RemovePeer(ctx, n.cfg.NodeID); err != nil {
		return err
	}
	n.leftOnce.Do(func() { close(n.leftCh) })
	return nil
}

// Left is closed once Leave has removed this agent from the cluster.
func (n *Node) Left() <-chan struct{} { return n.leftCh }
