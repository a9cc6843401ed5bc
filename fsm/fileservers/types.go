package fileservers

import "errors"

// Server states. The names are part of the log and of the API: never
// rename one.
const (
	// StateAlive: the server registered and is in service.
	StateAlive = "alive"
	// StateDraining: the server is being emptied (issue 10): its copies
	// are still readable and serve as sources, but they do not count
	// toward a file's Want and it is never a target for new copies.
	StateDraining = "draining"
	// StateDead: the server stopped answering (issue 10 marks it).
	StateDead = "dead"
	// StateLeft: the server left the cluster on purpose.
	StateLeft = "left"
)

// KnownStates lists every state.
var KnownStates = []string{StateAlive, StateDraining, StateDead, StateLeft}

// ErrServerNotFound: no file server has that id. A business outcome: the
// entry still applied on every replica; fsm lists it with its wire name.
var ErrServerNotFound = errors.New("file server not found")

// ErrServerChanged: a state change made against a view of the server
// (SetStateRequest.IfIndex) that is no longer its latest: it registered
// again, say, after the leader's probe failed and before the dead commit.
var ErrServerChanged = errors.New("the file server changed since it was looked at")

// Server is one file server. Stored servers are changed in place (their
// counts move with every file), so Clone copies them and readers get
// copies.
type Server struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// Ring is the server's position, in order of first registration.
	Ring  uint64 `json:"ring"`
	State string `json:"state"`
	// Files and Bytes count the copies placed on the server.
	Files       int64  `json:"files"`
	Bytes       int64  `json:"bytes"`
	CreateIndex uint64 `json:"create_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Live reports whether the server's copies are readable: it is alive or
// draining (neither dead nor gone). A readable copy keeps a file from
// being lost and may be the source of a new copy.
func (s *Server) Live() bool { return Readable(s.State) }

// Alive reports whether the server is in full service: only its copies
// count toward a file's Want, and only it may receive new copies.
func (s *Server) Alive() bool { return s.State == StateAlive }

// Readable reports whether copies on a server in state are readable:
// alive or draining.
func Readable(state string) bool { return state == StateAlive || state == StateDraining }

// Result is a command's successful outcome: the server as it now is.
type Result struct {
	Server Server `json:"server"`
	Index  uint64 `json:"index"`
}

// RegisterRequest registers a file server, or re-registers a known one
// (after a restart, or at a new address): it is then alive again.
type RegisterRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// SetStateRequest records a server's state (issue 10).
type SetStateRequest struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// IfIndex, when set, applies the change only if the server's
	// ModifyIndex is still this one (compare and set): the leader marks a
	// server dead only as it saw it before the failed probe.
	IfIndex uint64 `json:"if_index,omitempty"`
}
