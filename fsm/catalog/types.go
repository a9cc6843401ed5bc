package catalog

import (
	"errors"
	"maps"
	"slices"
	"time"
)

// Business errors a command returns as its response (not a failure of
// the log). Package fsm lists them with their wire names.
var (
	// ErrNotFound: the command names an instance that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the command would make two instances share (name, address).
	ErrConflict = errors.New("conflict")
	// ErrInvalidStatus: a status other than passing or critical.
	ErrInvalidStatus = errors.New("invalid status")
)

// Instance is one registered instance of a service. Values stored in the
// table are never mutated in place: an update stores a new copy, so a
// snapshot or a reader may hold the old pointer safely.
type Instance struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Version       string            `json:"version"`
	Address       string            `json:"address"`
	Tags          []string          `json:"tags"`
	Meta          map[string]string `json:"meta"`
	ChangeVersion uint64            `json:"change_version"`
	RegisteredAt  time.Time         `json:"registered_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	CreateIndex   uint64            `json:"create_index"`
	ModifyIndex   uint64            `json:"modify_index"`
	Check         *Check            `json:"check,omitempty"`
	Rectify       *Rectify          `json:"rectify,omitempty"`
	// Status is passing or critical; StatusSince is when it last changed.
	Status       string    `json:"status"`
	StatusSince  time.Time `json:"status_since"`
	StatusOutput string    `json:"status_output,omitempty"`
}

// Clone returns a deep copy, so a reader can never reach the stored
// instance's slices, maps or pointers.
func (in *Instance) Clone() Instance {
	out := *in
	out.Tags = slices.Clone(in.Tags)
	out.Meta = maps.Clone(in.Meta)
	out.Check = clonePtr(in.Check)
	out.Rectify = clonePtr(in.Rectify)
	return out
}

func ptrEqual[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DefaultKind is the kind of an instance registered without one.
const DefaultKind = "service"

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

// RegisterRequest registers one instance. ID and Now are stamped by the
// proposer (Stamp); ID is used only when the (Name, Address) pair is new.
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

// SetStatusRequest records that instance ID turned Status at Now.
type SetStatusRequest struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Output string    `json:"output,omitempty"`
	Now    time.Time `json:"now"`
}

// Stamp sets the values only the leader decides: a fresh id (used only if
// the instance is new) and the time.
func (r *RegisterRequest) Stamp(now time.Time, newID func() string) {
	r.ID, r.Now = newID(), now
}

// Stamp sets the time of the change.
func (r *UpdateInstanceRequest) Stamp(now time.Time, _ func() string) { r.Now = now }

// Stamp sets the time of the transition.
func (r *SetStatusRequest) Stamp(now time.Time, _ func() string) { r.Now = now }

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

// Effect is what a command did to one instance, for fsm to turn into an
// event and to wake the watchers of WatchKey(Instance.Name). Instance is
// the stored (immutable) value: the new one, or the removed one.
type Effect struct {
	Change   Change
	Instance *Instance
}

// Event types of the catalog's events, as /events names them: a change,
// except that a created instance is "registered".
const (
	EventRegistered = "registered"
	EventChanged    = string(Changed)
	EventRemoved    = string(Removed)
	EventPassing    = StatusPassing
	EventCritical   = StatusCritical
)

// EventType is the event name of a change.
func (c Change) EventType() string {
	if c == Created {
		return EventRegistered
	}
	return string(c)
}

// EventField is the JSON field under which an event carries its instance.
const EventField = "instance"

// WatchKey is the key of the watch that wakes when anything under the
// service name changes. The prefix keeps keys of other tables apart.
func WatchKey(name string) string { return "service/" + name }
