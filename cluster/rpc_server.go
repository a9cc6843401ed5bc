package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/custodes/custodes/fsm"
)

// The internal protocol between agents, both halves owned by cluster: the
// server half is here, the client half in rpc_client.go. The api package
// mounts InternalHandler under /internal/; with a cluster key every call
// must carry proof of it. Nothing here trusts its input: every command is
// decoded strictly, validated and checked by this leader as if a client
// had sent it, and only this leader's grouper makes batch entries.
const (
	rpcPrefix    = "/internal/v1/"
	rpcApply     = rpcPrefix + "apply"
	rpcReadIndex = rpcPrefix + "read-index"
	rpcStatus    = rpcPrefix + "status"
	rpcAlive     = rpcPrefix + "alive"
	rpcCall      = rpcPrefix + "call/"
	rpcSnapshot  = rpcPrefix + "snapshot"

	// headerLeader names the leader that answered an apply call.
	headerLeader = "X-Custodes-Leader"
)

// Leader operations run on the leader through callLeader: work that needs
// the leader's memory or its view, not a Raft entry of its own.
const (
	OpHealth     = "health"
	OpRemovePeer = "remove-peer"
)

// LeaderOp is a leader operation's handler. arg comes from the network:
// the handler validates it. Its answer goes back as it is.
type LeaderOp func(ctx context.Context, arg []byte) ([]byte, error)

// maxCallBytes bounds a leader operation's argument.
const maxCallBytes = 64 << 10

// errorAnswer is the body of every refused internal call.
type errorAnswer struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

type readIndexAnswer struct {
	Index  uint64 `json:"index"`
	Leader string `json:"leader"`
}

// HandleLeaderOp registers a leader operation (before the agent serves).
func (n *Node) HandleLeaderOp(name string, op LeaderOp) {
	n.opsMu.Lock()
	defer n.opsMu.Unlock()
	n.ops[name] = op
}

// CallLeader runs a registered leader operation on the leader, wherever
// it is, retrying while it certainly did not run, up to LeaderWait. It
// returns the answer and the id of the leader that gave it.
func (n *Node) CallLeader(ctx context.Context, op string, arg []byte) ([]byte, string, error) {
	return n.callLeader(ctx, op, arg)
}

func (n *Node) runOp(ctx context.Context, name string, arg []byte) ([]byte, error) {
	n.opsMu.RLock()
	op, ok := n.ops[name]
	n.opsMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: no leader operation %q", errNoRoute, name)
	}
	if !n.IsLeader() {
		return nil, ErrNotLeader
	}
	return op(ctx, arg)
}

var errNoRoute = errors.New("no such internal call")

// InternalHandler serves the internal protocol. With a cluster key it
// refuses every call that does not carry proof of the key; with TLS and
// VerifyIncoming, every call whose caller showed no certificate from the
// CA (tls.go).
func (n *Node) InternalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+rpcApply, n.serveApply)
	mux.HandleFunc("GET "+rpcReadIndex, n.serveReadIndex)
	mux.HandleFunc("GET "+rpcStatus, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.Status()) })
	mux.HandleFunc("GET "+rpcAlive, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive", "node_id": n.cfg.NodeID})
	})
	mux.HandleFunc("POST "+rpcCall+"{op}", n.serveCall)
	mux.HandleFunc("PUT "+rpcSnapshot, n.serveSnapshot)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	var h http.Handler = mux
	if n.verify != nil {
		h = n.verify(h)
	}
	return n.requirePeerCert(h)
}

// readAll reads a body of at most limit bytes; more is ErrTooLarge.
func readAll(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", fsm.ErrInvalid, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// serveApply proposes a follower's commands on this leader, each as its
// own proposal (so they join this leader's groups), and answers each.
func (n *Node) serveApply(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(r, maxWireBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	cmds, err := decodeCommands(body)
	if err != nil {
		writeError(w, fmt.Errorf("%w: apply call: %v", fsm.ErrInvalid, err))
		return
	}
	if !n.IsLeader() {
		writeError(w, ErrNotLeader)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), n.cfg.ForwardTimeout)
	defer cancel()
	res := make([]wireResult, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = n.applyWire(ctx, c)
		}()
	}
	wg.Wait()
	w.Header().Set(headerLeader, n.cfg.NodeID)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(encodeResults(res))
}

// applyWire decodes, validates and proposes one command from the wire.
func (n *Node) applyWire(ctx context.Context, data []byte) wireResult {
	// Decoded strictly and checked by the API's own rules; both refusals
	// satisfy errors.Is(err, fsm.ErrInvalid).
	t, req, err := n.fsm.ValidateCommand(data)
	if err != nil {
		return wireResult{Code: codeInvalid, Message: err.Error()}
	}
	if fsm.Privileged(t) && n.verify == nil {
		// Without a cluster key anyone who reaches this port could send it.
		return wireResult{Code: codeInvalid, Message: fmt.Sprintf("%s: %v: refused over the agents' protocol without a cluster key (--encrypt)", t, ErrUnauthenticated)}
	}
	a, err := n.applyLocal(ctx, t, req)
	if err != nil {
		return wireResult{Index: a.Index, Code: errorCode(err), Message: err.Error()}
	}
	out, err := json.Marshal(a.Resp)
	if err != nil {
		return wireResult{Index: a.Index, Code: codeError, Message: err.Error()}
	}
	return wireResult{Index: a.Index, Result: out}
}

func (n *Node) serveReadIndex(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	idx, err := n.ReadIndex(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, readIndexAnswer{Index: idx, Leader: n.cfg.NodeID})
}

func (n *Node) serveCall(w http.ResponseWriter, r *http.Request) {
	arg, err := readAll(r, maxCallBytes)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), n.cfg.ForwardTimeout)
	defer cancel()
	out, err := n.runOp(ctx, r.PathValue("op"), arg)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError refuses a call, with a status for people and a code for the
// calling agent.
func writeError(w http.ResponseWriter, err error) {
	code := errorCode(err)
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errNoRoute):
		status, code = http.StatusNotFound, "no_route"
	case errors.Is(err, fsm.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnauthenticated):
		status = http.StatusUnauthorized
	case fsm.ErrorName(err) == "not_found", errors.Is(err, ErrUnknownPeer):
		status = http.StatusNotFound
	case fsm.ErrorName(err) != "", errors.Is(err, ErrUnsafe):
		status = http.StatusConflict
	case errors.Is(err, ErrNotLeader), errors.Is(err, ErrNoLeader), errors.Is(err, ErrTimeout),
		errors.Is(err, ErrShutdown), errors.Is(err, ErrLeadershipLost):
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	msg := err.Error()
	if strings.TrimSpace(msg) == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, errorAnswer{Code: code, Error: msg})
}
