package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/custodes/custodes/fsm"
)

// The client half of the internal protocol (the server half is
// rpc_server.go): the calls an agent makes to the leader or to a peer.

// remoteSink sends a follower's groups of commands to the leader in one
// apply call each. The call is made when its results are awaited: the
// grouper awaits each unit in its own goroutine, so groups still overlap.
type remoteSink struct{ n *Node }

func (s remoteSink) send(cmds [][]byte) func() []applyResult {
	return func() []applyResult { return s.n.applyRemote(cmds) }
}

// applyRemote makes one apply call for cmds. Every result says either what
// the leader answered for its command or why none was had: ErrNoLeader or
// ErrNotLeader when the commands certainly were not applied (the caller
// may retry), ErrForward when they may have been.
func (n *Node) applyRemote(cmds [][]byte) []applyResult {
	out := make([]applyResult, len(cmds))
	fail := func(err error) []applyResult {
		for i := range out {
			out[i] = applyResult{err: err}
		}
		return out
	}
	leader, ok := n.Leader()
	if !ok || leader.ID == n.cfg.NodeID {
		return fail(ErrNoLeader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ForwardTimeout)
	defer cancel()
	if o := n.obs.get(); o != nil {
		o.Forwarded(len(cmds))
	}
	body, status, err := n.call(ctx, leader.HTTP, http.MethodPost, rpcApply, encodeCommands(cmds))
	switch {
	case errors.Is(err, errNotSent):
		return fail(ErrNoLeader)
	case err != nil:
		return fail(fmt.Errorf("%w: leader %s: %v; the write may or may not have been applied", ErrForward, leader.ID, err))
	case status != http.StatusOK:
		// The leader refuses a call as a whole before it proposes any of it.
		if e := callError(status, body); errors.Is(e, ErrNotLeader) {
			return fail(ErrNotLeader)
		} else {
			return fail(fmt.Errorf("%w: leader %s refused the call: %v", ErrForward, leader.ID, e))
		}
	}
	res, err := decodeResults(body, len(cmds))
	if err != nil {
		return fail(fmt.Errorf("%w: leader %s: %v; the write may or may not have been applied", ErrForward, leader.ID, err))
	}
	for i, r := range res {
		out[i] = applyResult{index: r.Index, by: leader.ID}
		if r.Code != "" {
			if e := remoteError(r.Code, r.Message); fsm.ErrorName(e) != "" {
				out[i].resp = e // a business error: the FSM's answer
			} else {
				out[i].err = e
			}
			continue
		}
		resp, err := fsm.DecodeResult(fsm.MessageType(cmds[i][0]), r.Result)
		if err != nil {
			out[i].err = fmt.Errorf("%w: leader %s: result %d: %v", ErrForward, leader.ID, i, err)
			continue
		}
		out[i].resp = resp
	}
	return out
}

// errNotSent marks a call that never reached its target (the dial
// failed), so whatever it carried certainly did not happen.
var errNotSent = errors.New("not sent")

// maxAnswerBytes bounds what the client reads of any answer.
const maxAnswerBytes = 8 << 20

// call makes one internal call to the agent at addr and returns the
// answer's body and status. A dial failure wraps errNotSent.
func (n *Node) call(ctx context.Context, addr, method, path string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.scheme()+addr+path, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", errNotSent, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	n.signer.SignBody(req, body)
	resp, err := n.client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, 0, fmt.Errorf("%w: %s: %v", errNotSent, addr, err)
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer: %w", err)
	}
	return out, resp.StatusCode, nil
}

// callError reads a refused call's {"code","error"} answer back into an
// error matching the same sentinel.
func callError(status int, body []byte) error {
	var e errorAnswer
	if json.Unmarshal(body, &e) != nil || e.Code == "" {
		return fmt.Errorf("status %d: %s", status, bytes.TrimSpace(body))
	}
	return remoteError(e.Code, e.Error)
}

// callLeader runs op on the leader through the internal protocol and
// returns its answer and the leader that gave it, retrying while it
// certainly did not run (no leader, or the agent reached was not the
// leader) until ctx or LeaderWait ends.
func (n *Node) callLeader(ctx context.Context, op string, arg []byte) ([]byte, string, error) {
	var by string
	out, err := retryLeader(ctx, n, func(ctx context.Context) ([]byte, error) {
		if n.IsLeader() {
			by = n.cfg.NodeID
			return n.runOp(ctx, op, arg)
		}
		leader, ok := n.Leader()
		if !ok || leader.ID == n.cfg.NodeID {
			return nil, ErrNoLeader
		}
		body, status, err := n.call(ctx, leader.HTTP, http.MethodPost, rpcCall+op, arg)
		switch {
		case errors.Is(err, errNotSent):
			return nil, ErrNoLeader
		case err != nil:
			return nil, fmt.Errorf("%w: leader %s: %v", ErrForward, leader.ID, err)
		}
		by = leader.ID
		if status != http.StatusOK {
			return nil, callError(status, body)
		}
		return body, nil
	})
	return out, by, err
}

// probeStatus asks a peer for its Raft status (membership reconciliation).
func (n *Node) probeStatus(ctx context.Context, addr string) (RaftStatus, bool) {
	var st RaftStatus
	body, status, err := n.call(ctx, addr, http.MethodGet, rpcStatus, nil)
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &st) != nil {
		return st, false
	}
	return st, true
}

// probeAlive asks a peer directly whether it answers: the confirmation
// gossip's verdict needs before anything is removed.
func (n *Node) probeAlive(ctx context.Context, addr string) bool {
	if addr == "" {
		return false
	}
	_, status, err := n.call(ctx, addr, http.MethodGet, rpcAlive, nil)
	return err == nil && status == http.StatusOK
}

// readIndexRemote asks the leader for a read index.
func (n *Node) readIndexRemote(ctx context.Context) (uint64, error) {
	leader, ok := n.Leader()
	if !ok || leader.ID == n.cfg.NodeID {
		return 0, ErrNoLeader
	}
	body, status, err := n.call(ctx, leader.HTTP, http.MethodGet, rpcReadIndex, nil)
	switch {
	case err != nil:
		return 0, ErrNoLeader
	case status != http.StatusOK:
		if e := callError(status, body); !errors.Is(e, ErrNotLeader) && !errors.Is(e, ErrTimeout) {
			return 0, e
		}
		return 0, ErrNotLeader
	}
	var out readIndexAnswer
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("read index from leader: %w", err)
	}
	return out.Index, nil
}
