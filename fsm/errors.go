package fsm

import (
	"errors"

	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
)

// Business errors: outcomes a command returns as its Apply response (the
// log entry still applied, on every replica), turned back into errors by
// the proposer. Tables define their own; this file lists every one with
// its wire name, so proposals answered by another agent come back as the
// same sentinels and errors.Is keeps working across the network.
var (
	// ErrNotFound: the command names an instance that does not exist.
	ErrNotFound = catalog.ErrNotFound
	// ErrConflict: the command would make two instances share (name, address).
	ErrConflict = catalog.ErrConflict
	// ErrInvalidStatus: a status other than passing or critical.
	ErrInvalidStatus = catalog.ErrInvalidStatus
	// ErrAlreadyBootstrapped: the cluster's ACLs were bootstrapped before.
	ErrAlreadyBootstrapped = acl.ErrAlreadyBootstrapped
	// ErrUserExists: a user with that name exists.
	ErrUserExists = acl.ErrUserExists
	// ErrUserNotFound: no user has that name.
	ErrUserNotFound = acl.ErrUserNotFound
	// ErrTokenInUse: another user's token has the same hash.
	ErrTokenInUse = acl.ErrTokenInUse
	// ErrLastManagement: the command would leave nobody with management.
	ErrLastManagement = acl.ErrLastManagement
	// ErrFileNotFound: no file has that id.
	ErrFileNotFound = files.ErrFileNotFound
	// ErrFileExists: the file id, or the (owner, name), is taken.
	ErrFileExists = files.ErrFileExists
	// ErrStaleVersion: the request was made against another version.
	ErrStaleVersion = files.ErrStaleVersion
	// ErrNotOwner: only the file's owner may do this.
	ErrNotOwner = files.ErrNotOwner
	// ErrLockNotHeld: the file's lock is not held by that token hash (and
	// fence), or it expired.
	ErrLockNotHeld = locks.ErrLockNotHeld
	// ErrServerNotFound: no file server has that id.
	ErrServerNotFound = fileservers.ErrServerNotFound
	// ErrServerChanged: a conditional state change found the server
	// changed since (it registered again).
	ErrServerChanged = fileservers.ErrServerChanged
	// ErrShareWithOwner: a file cannot be shared with its owner.
	ErrShareWithOwner = shares.ErrShareWithOwner
)

// businessErrors is the one list of business sentinels and their wire
// names. Names are part of the agent-to-agent protocol: never rename one.
var businessErrors = []struct {
	name string
	err  error
}{
	{"not_found", ErrNotFound},
	{"conflict", ErrConflict},
	{"invalid_status", ErrInvalidStatus},
	{"acl_bootstrapped", ErrAlreadyBootstrapped},
	{"user_exists", ErrUserExists},
	{"user_not_found", ErrUserNotFound},
	{"token_in_use", ErrTokenInUse},
	{"last_management", ErrLastManagement},
	{"file_not_found", ErrFileNotFound},
	{"file_exists", ErrFileExists},
	{"stale_version", ErrStaleVersion},
	{"lock_not_held", ErrLockNotHeld},
	{"not_owner", ErrNotOwner},
	{"server_not_found", ErrServerNotFound},
	{"share_with_owner", ErrShareWithOwner},
	{"server_changed", ErrServerChanged},
}

// ErrorName names a business error for the wire, or "" when err is none.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	for _, b := range businessErrors {
		if errors.Is(err, b.err) {
			return b.name
		}
	}
	return ""
}

// ErrorByName returns the business error a wire name stands for, or nil.
func ErrorByName(name string) error {
	for _, b := range businessErrors {
		if b.name == name {
			return b.err
		}
	}
	return nil
}

// ErrInvalid marks a request that breaks a rule (Validate) or does not
// decode (DecodeCommand): the client's fault, never a log entry.
var ErrInvalid = errors.New("invalid request")

// invalidError is a rule's error made to satisfy errors.Is(err,
// ErrInvalid); its message is what the client is shown: "invalid
// request: " and the rule's own words.
type invalidError struct{ err error }

func (e *invalidError) Error() string   { return ErrInvalid.Error() + ": " + e.err.Error() }
func (e *invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

func invalid(err error) error { return &invalidError{err: err} }
