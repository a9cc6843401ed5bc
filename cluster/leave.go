package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// RemovePeerPath is the operator call that removes a server from the Raft
// configuration; it runs on the leader (the api forwards it there).
const RemovePeerPath = "/admin/raft/remove-peer"

// RemovePeerRequest is RemovePeerPath's body.
type RemovePeerRequest struct {
	ID string `json:"id"`
}

// RemovePeer removes server id from the Raft configuration, on the leader,
// refusing when the voters left could not form a quorum among themselves.
func (n *Node) RemovePeer(id string) error {
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
	m.refresh(context.Background(), f.Configuration().Servers)
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
	if err := n.gossip.leave(time.Second); err != nil {
		n.cfg.Logger.Warn("gossip leave", "error", err)
	}
	n.transferLeadership()
	body, _ := json.Marshal(RemovePeerRequest{ID: n.cfg.NodeID})
	ctx, cancel := context.WithTimeout(ctx, 2*n.cfg.LeaderWait)
	defer cancel()
	for {
		err := n.removeSelf(ctx, body)
		if err == nil {
			n.leftOnce.Do(func() { close(n.leftCh) })
			return nil
		}
		if err != ErrNoLeader && err != ErrNotLeader {
			return err
		}
		select {
		case <-ctx.Done():
			return ErrNoLeader
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (n *Node) removeSelf(ctx context.Context, body []byte) error {
	leader, ok := n.Leader()
	if !ok || leader.ID == n.cfg.NodeID {
		return ErrNoLeader
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+leader.HTTP+RemovePeerPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return ErrNoLeader
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusServiceUnavailable:
		return ErrNotLeader
	case http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrUnsafe, msg)
	}
	return fmt.Errorf("leader refused removal: %d %s", resp.StatusCode, msg)
}

// Left is closed once Leave has removed this agent from the cluster.
func (n *Node) Left() <-chan struct{} { return n.leftCh }
