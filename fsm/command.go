package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MessageType tags every command in the Raft log. The numbers are part of
// the on-disk format: append new types at the end, never renumber.
type MessageType uint8

const (
	// RegisterRequestType creates an instance or updates the one with the
	// same (name, address).
	RegisterRequestType MessageType = 0
	// UpdateInstanceRequestType changes some fields of an instance by id.
	UpdateInstanceRequestType MessageType = 1
	// DeregisterRequestType removes an instance by id.
	DeregisterRequestType MessageType = 2
	// 3..31 are reserved for the registry (health, sessions); 32.. for the
	// distributed file system's index.
)

func (t MessageType) String() string {
	switch t {
	case RegisterRequestType:
		return "register"
	case UpdateInstanceRequestType:
		return "update-instance"
	case DeregisterRequestType:
		return "deregister"
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// Sentinel business errors returned as Apply responses.
var (
	// ErrNotFound: the command names an instance that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the command would make two instances share (name, address).
	ErrConflict = errors.New("conflict")
)

// RegisterRequest registers one instance. ID and Now are stamped by the
// proposer; ID is used only when the (Name, Address) pair is new.
type RegisterRequest struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Version string            `json:"version,omitempty"`
	Kind    string            `json:"kind,omitempty"`
	Tags    []string          `json:"tags,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Now     time.Time         `json:"now"`
}

// UpdateInstanceRequest changes the fields that are set (non-nil).
type UpdateInstanceRequest struct {
	ID      string             `json:"id"`
	Version *string            `json:"version,omitempty"`
	Kind    *string            `json:"kind,omitempty"`
	Address *string            `json:"address,omitempty"`
	Tags    *[]string          `json:"tags,omitempty"`
	Meta    *map[string]string `json:"meta,omitempty"`
	Now     time.Time          `json:"now"`
}

// DeregisterRequest removes the instance with ID.
type DeregisterRequest struct {
	ID string `json:"id"`
}

// Change says what a command did to an instance.
type Change string

const (
	Created   Change = "created"
	Unchanged Change = "unchanged"
	Changed   Change = "changed"
	Removed   Change = "removed"
)

// Result is the successful response of a catalog command.
type Result struct {
	ID            string `json:"id"`
	Change        Change `json:"change"`
	ChangeVersion uint64 `json:"change_version,omitempty"`
	Index         uint64 `json:"index"`
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
