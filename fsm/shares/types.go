package shares

import "errors"

// Share modes. The names are part of the log and of the API: never
// rename one.
const (
	// ModeRead may read and stat the file.
	ModeRead = "read"
	// ModeWrite may also lock, unlock and update it.
	ModeWrite = "write"
	// ModeNone removes a share (it is never stored).
	ModeNone = "none"
)

// KnownModes lists every mode a request may carry.
var KnownModes = []string{ModeRead, ModeWrite, ModeNone}

// ErrShareWithOwner: a file's owner already has every right; a share to
// them would be meaningless. A business outcome: fsm lists it with its
// wire name.
var ErrShareWithOwner = errors.New("cannot share a file with its owner")

// Share is one user's access to one file.
type Share struct {
	File string `json:"file"`
	User string `json:"user"`
	Mode string `json:"mode"`
}

// Result is a command's successful outcome: the share as it now is (mode
// none when removed or never there) and the mode it replaced ("" for
// none).
type Result struct {
	Share Share  `json:"share"`
	Old   string `json:"old,omitempty"`
	Index uint64 `json:"index"`
}

// ShareRequest sets User's mode on File; By must be the file's owner.
// Mode none removes the share.
type ShareRequest struct {
	File string `json:"file"`
	User string `json:"user"`
	Mode string `json:"mode"`
	By   string `json:"by"`
}
