package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
)

// ApplyPath is the internal HTTP call through which an agent that is not
// the leader proposes a command it originated itself (a health transition,
// a file server's report). The api package mounts it; clients' writes are
// forwarded as whole HTTP requests instead.
const ApplyPath = "/internal/apply"

// ApplyResponse is the leader's answer on ApplyPath. Error holds a
// business error's wire name (fsm.ErrorName: not_found, conflict, ...).
type ApplyResponse struct {
	Index  uint64          `json:"index"`
	Result *catalog.Result `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// ApplyEncoded applies an already encoded command on the leader; it is
// ApplyPath's handler body.
func (n *Node) ApplyEncoded(data []byte) (*catalog.Result, uint64, error) {
	if !n.IsLeader() {
		return nil, 0, ErrNotLeader
	}
	resp, index, err := n.applyRaft(data)
	if err != nil {
		return nil, index, err
	}
	res, _ := resp.(*catalog.Result)
	return res, index, nil
}

// Propose applies a command wherever the leader is: locally on the leader,
// through ApplyPath otherwise, retrying while leadership moves (only when
// the command certainly was not applied) until ctx or LeaderWait ends.
func (n *Node) Propose(ctx context.Context, t fsm.MessageType, req any) (*catalog.Result, uint64, error) {
	data, err := fsm.Encode(t, req)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.LeaderWait)
	defer cancel()
	for {
		var (
			res   *catalog.Result
			index uint64
		)
		if n.IsLeader() {
			res, index, err = n.ApplyEncoded(data)
		} else {
			res, index, err = n.proposeRemote(ctx, data)
		}
		if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrNoLeader) {
			return res, index, err
		}
		select {
		case <-ctx.Done():
			return nil, 0, ErrNoLeader
		case <-n.shutdownCh:
			return nil, 0, ErrShutdown
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Node) proposeRemote(ctx context.Context, data []byte) (*catalog.Result, uint64, error) {
	leader, ok := n.Leader()
	if !ok || leader.ID == n.cfg.NodeID {
		return nil, 0, ErrNoLeader
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+leader.HTTP+ApplyPath, bytes.NewReader(data))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, 0, ErrNoLeader
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusServiceUnavailable {
		return nil, 0, ErrNotLeader
	}
	var out ApplyResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, 0, fmt.Errorf("apply on leader: status %d: %s", resp.StatusCode, body)
	}
	if out.Error != "" {
		if e := fsm.ErrorByName(out.Error); e != nil {
			return nil, out.Index, e
		}
		return nil, out.Index, fmt.Errorf("apply on leader: %s", out.Error)
	}
	return out.Result, out.Index, nil
}
