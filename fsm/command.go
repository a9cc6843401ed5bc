package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/locks"
)

// MessageType tags every command in the Raft log. The numbers are part of
// the on-disk format: append new types at the end, never renumber. This
// block is the one list of them.
type MessageType uint8

const (
	// RegisterRequestType creates an instance or updates the one with the
	// same (name, address). Body: catalog.RegisterRequest.
	RegisterRequestType MessageType = 0
	// UpdateInstanceRequestType changes some fields of an instance by id.
	// Body: catalog.UpdateInstanceRequest.
	UpdateInstanceRequestType MessageType = 1
	// DeregisterRequestType removes an instance by id.
	// Body: catalog.DeregisterRequest.
	DeregisterRequestType MessageType = 2
	// SetStatusRequestType records a health transition (passing/critical).
	// Body: catalog.SetStatusRequest.
	SetStatusRequestType MessageType = 3
	// BatchRequestType carries several commands in one log entry, applied
	// in order at the entry's index (see batch.go). The leader groups
	// concurrent writes into one: Raft then stores, sends and applies one
	// entry instead of many.
	BatchRequestType MessageType = 4
	// ACLBootstrapRequestType creates the first management user, once per
	// cluster. Body: acl.BootstrapRequest (a token hash, never a token).
	ACLBootstrapRequestType MessageType = 5
	// ACLCreateUserRequestType creates a user. Body: acl.CreateUserRequest.
	ACLCreateUserRequestType MessageType = 6
	// ACLDeleteUserRequestType deletes a user. Body: acl.DeleteUserRequest.
	ACLDeleteUserRequestType MessageType = 7
	// ACLSetTokenRequestType replaces a user's token hash.
	// Body: acl.SetTokenRequest.
	ACLSetTokenRequestType MessageType = 8
	// 9..31 are reserved for the registry; 32.. for the distributed file
	// system's index (the directory, docs/DFS.md; glue in table_dfs.go).

	// DFSRegisterServerRequestType registers a file server or re-registers
	// a known one. Body: fileservers.RegisterRequest.
	DFSRegisterServerRequestType MessageType = 32
	// DFSSetServerStateRequestType records a file server's state.
	// Body: fileservers.SetStateRequest.
	DFSSetServerStateRequestType MessageType = 33
	// DFSCreateFileRequestType creates a file's entry (version 1) once its
	// copies are stored. Body: files.CreateRequest.
	DFSCreateFileRequestType MessageType = 34
	// DFSUpdateFileRequestType replaces a file's content under its lock.
	// Body: files.UpdateRequest.
	DFSUpdateFileRequestType MessageType = 35
	// DFSDeleteFileRequestType deletes a file, its lock and its shares.
	// Body: files.DeleteRequest.
	DFSDeleteFileRequestType MessageType = 36
	// DFSLockRequestType asks for a file's lock; a refusal is a result.
	// Body: locks.LockRequest.
	DFSLockRequestType MessageType = 37
	// DFSUnlockRequestType releases a file's lock.
	// Body: locks.UnlockRequest.
	DFSUnlockRequestType MessageType = 38
	// DFSShareRequestType sets (or with mode none removes) a user's access
	// to a file. Body: shares.ShareRequest.
	DFSShareRequestType MessageType = 39
	// DFSSetReplicasRequestType replaces the servers holding a file's
	// current version. Body: files.SetReplicasRequest.
	DFSSetReplicasRequestType MessageType = 40
)

// commands is the dispatch table: each type's request, the table function
// that applies it, and its boundary checks. Adding a table means adding
// its types above and its entries here.
var commands = map[MessageType]command{
	RegisterRequestType:       catalogCommand((*catalog.Table).Register, nil),
	UpdateInstanceRequestType: catalogCommand((*catalog.Table).UpdateInstance, func(r *catalog.UpdateInstanceRequest) string { return r.ID }),
	DeregisterRequestType:     catalogCommand((*catalog.Table).Deregister, func(r *catalog.DeregisterRequest) string { return r.ID }),
	SetStatusRequestType:      catalogCommand((*catalog.Table).SetStatus, func(r *catalog.SetStatusRequest) string { return r.ID }),
	ACLBootstrapRequestType:   aclCommand((*acl.Table).Bootstrap, (*acl.Table).CheckBootstrap),
	ACLCreateUserRequestType:  aclCommand((*acl.Table).CreateUser, (*acl.Table).CheckCreateUser),
	ACLDeleteUserRequestType:  aclCommand((*acl.Table).DeleteUser, (*acl.Table).CheckDeleteUser),
	ACLSetTokenRequestType:    aclCommand((*acl.Table).SetToken, (*acl.Table).CheckSetToken),

	DFSRegisterServerRequestType: dfsCommand(registerServer, nil),
	DFSSetServerStateRequestType: dfsCommand(setServerState, checkSetServerState),
	DFSCreateFileRequestType:     dfsCommand(createFile, checkCreateFile),
	DFSUpdateFileRequestType:     dfsCommand(updateFile, checkUpdateFile),
	DFSDeleteFileRequestType:     dfsCommand(deleteFile, checkDeleteFile),
	DFSLockRequestType:           dfsCommand(lockFile, checkLock),
	DFSUnlockRequestType:         dfsCommand(unlockFile, checkUnlock),
	DFSShareRequestType:          dfsCommand(shareFile, checkShare),
	DFSSetReplicasRequestType:    dfsCommand(setReplicas, checkSetReplicas),
}

// The directory's requests that carry a time the leader stamps.
var (
	_ Stamper = (*files.CreateRequest)(nil)
	_ Stamper = (*files.UpdateRequest)(nil)
	_ Stamper = (*locks.LockRequest)(nil)
)

func (t MessageType) String() string {
	switch t {
	case RegisterRequestType:
		return "register"
	case UpdateInstanceRequestType:
		return "update-instance"
	case DeregisterRequestType:
		return "deregister"
	case SetStatusRequestType:
		return "set-status"
	case BatchRequestType:
		return "batch"
	case ACLBootstrapRequestType:
		return "acl-bootstrap"
	case ACLCreateUserRequestType:
		return "acl-create-user"
	case ACLDeleteUserRequestType:
		return "acl-delete-user"
	case ACLSetTokenRequestType:
		return "acl-set-token"
	case DFSRegisterServerRequestType:
		return "dfs-register-server"
	case DFSSetServerStateRequestType:
		return "dfs-set-server-state"
	case DFSCreateFileRequestType:
		return "dfs-create-file"
	case DFSUpdateFileRequestType:
		return "dfs-update-file"
	case DFSDeleteFileRequestType:
		return "dfs-delete-file"
	case DFSLockRequestType:
		return "dfs-lock"
	case DFSUnlockRequestType:
		return "dfs-unlock"
	case DFSShareRequestType:
		return "dfs-share"
	case DFSSetReplicasRequestType:
		return "dfs-set-replicas"
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// command is one dispatch table entry. apply runs under the FSM's write
// lock, precheck under at least its read lock.
type command struct {
	newRequest func() any
	apply      func(f *FSM, index uint64, req any) (any, []Event)
	validate   func(f *FSM, req any) error
	precheck   func(f *FSM, req any) error
	newResult  func() any
	// privileged commands change who may do what (users, tokens): only an
	// agent that proved the cluster key may send one over the network.
	privileged bool
}

// Privileged reports whether commands of type t may only come from an
// authenticated agent. Without a cluster key no call between agents is
// authenticated, so such commands are then proposed only by the agent
// that received the client's request.
func Privileged(t MessageType) bool { return commands[t].privileged }

// Stamper is implemented by requests carrying values only the leader
// decides (ids, times): Apply must never read a clock or draw a random
// number, so the proposer stamps them into the command.
type Stamper interface {
	Stamp(now time.Time, newID func() string)
}

// Encode turns a command into a log entry body: the type byte, then JSON.
func Encode(t MessageType, req any) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	out := make([]byte, 0, len(body)+1)
	out = append(out, byte(t))
	return append(out, body...), nil
}

// decode splits a log entry body into its type and JSON payload.
func decode(data []byte) (MessageType, []byte, error) {
	if len(data) == 0 {
		return 0, nil, errors.New("empty log entry")
	}
	return MessageType(data[0]), data[1:], nil
}

// DecodeCommand decodes one encoded command (type byte + JSON, as Encode
// makes it) strictly: unknown fields, trailing data, wrong JSON types,
// empty input, unknown types and batch entries are all errors (wrapping
// ErrInvalid). It returns a pointer to the typed request, e.g.
// *catalog.RegisterRequest. Apply itself decodes leniently, as old logs
// must keep decoding; this is the stricter check for what comes from the
// network.
func DecodeCommand(data []byte) (MessageType, any, error) {
	t, body, err := decode(data)
	if err != nil {
		return 0, nil, invalid(err)
	}
	if t == BatchRequestType {
		return t, nil, invalid(errors.New("a batch is not a command: propose its commands one by one"))
	}
	cmd, ok := commands[t]
	if !ok {
		return t, nil, invalid(fmt.Errorf("unknown message type %d", uint8(t)))
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return t, nil, invalid(fmt.Errorf("%s: body must be a JSON object", t))
	}
	req := cmd.newRequest()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return t, nil, invalid(fmt.Errorf("%s: %w", t, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return t, nil, invalid(fmt.Errorf("%s: data after the JSON object", t))
	}
	return t, req, nil
}

// ValidateCommand is DecodeCommand followed by Validate: the boundary
// check for any single command that arrives from the network.
func (f *FSM) ValidateCommand(data []byte) (MessageType, any, error) {
	t, req, err := DecodeCommand(data)
	if err != nil {
		return t, nil, err
	}
	if err := f.Validate(t, req); err != nil {
		return t, nil, err
	}
	return t, req, nil
}

// Validate checks a typed request exactly as the public API checks a
// client's request (same rules, same messages), with the limits from
// Config. Errors satisfy errors.Is(err, ErrInvalid) and their Error() is
// the client-facing message. req must be the type DecodeCommand returns
// for t.
func (f *FSM) Validate(t MessageType, req any) error {
	cmd, ok := commands[t]
	if !ok {
		return invalid(fmt.Errorf("unknown message type %d", uint8(t)))
	}
	return cmd.validate(f, req)
}

// Precheck answers, from the current state, what would certainly fail, so
// that no Raft entry is appended for it: an update-instance, deregister or
// set-status of an id the state does not hold is ErrNotFound. A nil answer
// promises nothing (the state may change before the entry applies).
func (f *FSM) Precheck(t MessageType, req any) error {
	cmd, ok := commands[t]
	if !ok {
		return invalid(fmt.Errorf("unknown message type %d", uint8(t)))
	}
	if cmd.precheck == nil {
		return nil
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return cmd.precheck(f, req)
}

// DecodeResult decodes a command's successful response as sent over the
// wire (JSON) into the type Apply returns for t (*catalog.Result for the
// catalog's commands).
func DecodeResult(t MessageType, data []byte) (any, error) {
	cmd, ok := commands[t]
	if !ok {
		return nil, fmt.Errorf("decode result: unknown message type %d", uint8(t))
	}
	res := cmd.newResult()
	if err := json.Unmarshal(data, res); err != nil {
		return nil, fmt.Errorf("decode %s result: %w", t, err)
	}
	return res, nil
}

// ValidateEncoded checks that data is a log entry Apply can decode (a
// command or a batch of them), with Apply's own lenient decoding: the
// tests use it to state exactly what Apply panics on. It is not a check
// for input from the network, which may carry commands only and goes
// through DecodeCommand and Validate (a batch passes this check).
func ValidateEncoded(data []byte) error {
	t, body, err := decode(data)
	if err != nil {
		return err
	}
	if t == BatchRequestType {
		cmds, err := decodeBatch(body)
		if err != nil {
			return err
		}
		for i, c := range cmds {
			if len(c) > 0 && MessageType(c[0]) == BatchRequestType {
				return fmt.Errorf("batch: command %d is a batch; batches do not nest", i)
			}
			if err := ValidateEncoded(c); err != nil {
				return fmt.Errorf("batch: command %d: %w", i, err)
			}
		}
		return nil
	}
	cmd, ok := commands[t]
	if !ok {
		return fmt.Errorf("unknown message type %d", uint8(t))
	}
	if err := json.Unmarshal(body, cmd.newRequest()); err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	return nil
}
