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
	// SetStatusRequestType records a health transition (passing/critical).
	SetStatusRequestType MessageType = 3
	// BatchRequestType carries several commands in one log entry, applied
	// in order at the entry's index (see batch.go). The leader groups
	// concurrent writes into one: Raft then stores, sends and applies one
	// entry instead of many.
	BatchRequestType MessageType = 4
	// 5..31 are reserved for the registry; 32.. for the distributed file
	// system's index.
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
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// Sentinel business errors returned as Apply responses.
var (
	// ErrNotFound: the command names an instance that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the command would make two instances share (name, address).
	ErrConflict = errors.New("conflict")
	// ErrInvalidStatus: a status other than passing or critical.
	ErrInvalidStatus = errors.New("invalid status")
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
	Check   *Check            `json:"check,omitempty"`
	Rectify *Rectify          `json:"rectify,omitempty"`
	Now     time.Time         `json:"now"`
}

// Check says how an instance's health is watched: an HTTP poll, or a TTL
// the instance must keep renewing with heartbeats. Durations are
// nanoseconds in the log; the API speaks strings such as "10s".
type Check struct {
	HTTP                   string        `json:"http,omitempty"`
	Interval               time.Duration `json:"interval,omitempty"`
	Timeout                time.Duration `json:"timeout,omitempty"`
	FailuresBeforeCritical int           `json:"failures_before_critical,omitempty"`
	SuccessesBeforePassing int           `json:"successes_before_passing,omitempty"`
	DeregisterAfter        time.Duration `json:"deregister_after,omitempty"`
	TTL                    time.Duration `json:"ttl,omitempty"`
}

// Rectify names the webhook the leader calls when the instance turns
// critical, so an operator's restarter can act.
type Rectify struct {
	URL string `json:"url"`
}

// Health statuses.
const (
	StatusPassing  = "passing"
	StatusCritical = "critical"
)

// SetStatusRequest records that instance ID turned Status at Now.
type SetStatusRequest struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Output string    `json:"output,omitempty"`
	Now    time.Time `json:"now"`
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
	// Passing and Critical are the changes a SetStatusRequest makes.
	Passing  Change = StatusPassing
	Critical Change = StatusCritical
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

// newRequest returns an empty request of type t, or nil if t is unknown.
func newRequest(t MessageType) any {
	switch t {
	case RegisterRequestType:
		return new(RegisterRequest)
	case UpdateInstanceRequestType:
		return new(UpdateInstanceRequest)
	case DeregisterRequestType:
		return new(DeregisterRequest)
	case SetStatusRequestType:
		return new(SetStatusRequest)
	}
	return nil
}

// ValidateEncoded checks that data is a command Apply can decode. Anything
// proposed from outside the process must pass it first: Apply panics on an
// entry it cannot decode, on every replica.
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
	req := newRequest(t)
	if req == nil {
		return fmt.Errorf("unknown message type %d", uint8(t))
	}
	if err := json.Unmarshal(body, req); err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	return nil
}
