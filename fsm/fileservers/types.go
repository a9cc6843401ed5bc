package fileservers

import "errors"

// Server states. The names are part of the log and of the API: never
// rename one.
const (
	// StateAlive: the server registered and is in service.
	StateAlive = "alive"
	// StateDead: the server stopped answering (issue 10 marks it).
	StateDead = "dead"
	// StateLeft: the server left the cluster on purpose.
	StateLeft = "left"
)

// KnownStates lists every state.
var KnownStates = []string{StateAlive, StateDead, StateLeft}

// ErrServerNotFound: no file server has that id. A business outcome: the
// entry still applied on every replica; fsm lists it with its wire name.
var ErrServerNotFound = errors.New("file server not found")

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

// Live reports whether the server may hold readable copies: it is neither
// dead nor gone.
func (s *Server) Live() bool { return s.State != StateDead && s.State != StateLeft }

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
}
