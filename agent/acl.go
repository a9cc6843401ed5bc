package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/custodes/custodes/api"
	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/acl"
)

// initialTokenRetry is the pause between attempts to propose the initial
// management token while this agent leads.
const initialTokenRetry = 500 * time.Millisecond

// bootstrapInitialToken registers, when an initial management token was
// configured, the leader task that proposes its hash as the ACL bootstrap
// if the cluster has none yet. Every agent may carry the same token: the
// first leader bootstraps, later leaders find ACLs bootstrapped and do
// nothing, and the FSM refuses a second bootstrap in any case. The token
// itself is never logged nor proposed.
func bootstrapInitialToken(node *cluster.Node, cfg api.ACLConfig, log *slog.Logger) {
	if cfg.InitialManagementToken == "" {
		return
	}
	hash := api.HashToken(cfg.InitialManagementToken)
	node.OnLeadership(func(ctx context.Context) {
		for {
			if node.FSM().ACLBootstrapped() {
				return
			}
			_, err := node.Propose(ctx, fsm.ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: hash})
			switch {
			case err == nil:
				log.Info("acl bootstrapped with the initial management token")
				return
			case errors.Is(err, fsm.ErrAlreadyBootstrapped):
				return
			case ctx.Err() != nil:
				return
			}
			log.Warn("acl bootstrap with the initial management token failed, retrying", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(initialTokenRetry):
			}
		}
	})
}
