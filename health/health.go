package health

import (
	"context"
	"log/slog"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
)

// Node is what the checker needs from the agent's cluster layer (declared
// by its consumer; *cluster.Node implements it).
type Node interface {
	ID() string
	IsLeader() bool
	FSM() *fsm.FSM
	Members() []cluster.Member
	Propose(ctx context.Context, t fsm.MessageType, req any) (*catalog.Result, uint64, error)
	OnLeadership(task func(ctx context.Context))
}

// Config tunes the checker.
type Config struct {
	// Tick is how often an agent re-evaluates which checks it owns and
	// the leader re-evaluates TTL deadlines and deregister_after.
	Tick time.Duration
	// RectifyTimeout bounds one webhook call; RectifyAttempts bounds retries.
	RectifyTimeout  time.Duration
	RectifyAttempts int
	Logger          *slog.Logger
}

// DefaultConfig returns the checker's defaults.
func DefaultConfig() Config {
	return Config{Tick: time.Second, RectifyTimeout: 5 * time.Second, RectifyAttempts: 3}
}
