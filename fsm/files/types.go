package files

import (
	"errors"
	"slices"
	"time"
)

// Business outcomes of the table's commands: the entry still applied on
// every replica; fsm lists them with their wire names.
var (
	// ErrFileNotFound: no file has that id.
	ErrFileNotFound = errors.New("file not found")
	// ErrFileExists: the id, or the (owner, name), is taken.
	ErrFileExists = errors.New("file already exists")
	// ErrStaleVersion: the request was made against another version than
	// the file's current one (a concurrent update won).
	ErrStaleVersion = errors.New("stale file version")
	// ErrNotOwner: only the file's owner may do this.
	ErrNotOwner = errors.New("not the file's owner")
)

// File is one file's entry. Stored files are immutable: a change stores
// a new one.
type File struct {
	ID      string `json:"id"`
	Owner   string `json:"owner"`
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	// Replicas are the ids of the servers holding a copy, primary first.
	Replicas []string `json:"replicas"`
	// Want is how many copies the file should have.
	Want        int       `json:"want"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
}

// Clone returns a copy sharing nothing mutable with f.
func (f *File) Clone() File {
	c := *f
	c.Replicas = slices.Clone(f.Replicas)
	return c
}

// Result is a command's successful outcome: the file as it now is (as it
// was, for a deletion), and for an update or a replica change the file it
// replaced.
type Result struct {
	File  File   `json:"file"`
	Old   *File  `json:"old,omitempty"`
	Index uint64 `json:"index"`
}

// CreateRequest creates version 1 of a file. ID comes from the leader's
// placement (the copies are stored under it before the commit); Time is
// stamped by the leader.
type CreateRequest struct {
	ID       string    `json:"id"`
	Owner    string    `json:"owner"`
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Replicas []string  `json:"replicas"`
	Want     int       `json:"want"`
	Time     time.Time `json:"time"`
}

// UpdateRequest replaces a file's content with Version (the current one
// plus one), under the lock whose token hash and fence it carries.
type UpdateRequest struct {
	ID        string    `json:"id"`
	Version   uint64    `json:"version"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Replicas  []string  `json:"replicas"`
	TokenHash string    `json:"token_hash"`
	Fence     uint64    `json:"fence"`
	Time      time.Time `json:"time"`
}

// DeleteRequest deletes a file; By must be its owner.
type DeleteRequest struct {
	ID string `json:"id"`
	By string `json:"by"`
}

// SetReplicasRequest replaces the servers holding the copies of Version,
// which must be the current one (issue 10: repair and rebalancing).
type SetReplicasRequest struct {
	ID       string   `json:"id"`
	Version  uint64   `json:"version"`
	Replicas []string `json:"replicas"`
}

// Stamp sets the time of the creation; it never replaces the id, which
// names copies already stored.
func (r *CreateRequest) Stamp(now time.Time, _ func() string) { r.Time = now.UTC() }

// Stamp sets the time of the update (the lock's expiry is judged at it).
func (r *UpdateRequest) Stamp(now time.Time, _ func() string) { r.Time = now.UTC() }
