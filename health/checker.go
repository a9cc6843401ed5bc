package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
)

// Checker runs this agent's share of HTTP checks and, while the agent
// leads, the TTL, deregister-after and rectify work.
type Checker struct {
	node   Node
	cfg    Config
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	pollers map[string]*poller   // instance id -> poller this agent runs
	beats   map[string]time.Time // leader only: last heartbeat per TTL instance
	// transitions counts the status changes this agent's checks recorded,
	// by the status reached (metrics).
	transitions map[string]uint64

	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New builds a checker and registers its leader-only work with the node.
func New(node Node, cfg Config) *Checker {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultConfig().Tick
	}
	if cfg.RectifyTimeout <= 0 {
		cfg.RectifyTimeout = DefaultConfig().RectifyTimeout
	}
	if cfg.RectifyAttempts <= 0 {
		cfg.RectifyAttempts = DefaultConfig().RectifyAttempts
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Checker{
		node: node, cfg: cfg, log: cfg.Logger,
		client: &http.Client{
			// A check passes on 2xx only; a redirect is an answer, not a pass.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		pollers: map[string]*poller{},
		beats:   map[string]time.Time{},
		stopCh:  make(chan struct{}),
	}
	node.OnLeadership(c.leaderWork)
	node.HandleLeaderOp(opHeartbeat, c.heartbeatOp)
	return c
}

// Start begins this agent's share of the HTTP checks.
func (c *Checker) Start() {
	c.wg.Add(1)
	go c.loop()
}

// Stop ends every check and waits for them. It is idempotent.
func (c *Checker) Stop() {
	c.stopOnce.Do(func() {
		close(c.stopCh)
		c.mu.Lock()
		for id, p := range c.pollers {
			p.cancel()
			delete(c.pollers, id)
		}
		c.mu.Unlock()
		c.wg.Wait()
		c.client.CloseIdleConnections()
	})
}

func (c *Checker) loop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		c.assign()
		select {
		case <-c.stopCh:
			return
		case <-t.C:
		}
	}
}

// agents returns the registry agents gossip sees alive, self included.
func (c *Checker) agents() []string {
	self := c.node.ID()
	out := []string{self}
	for _, m := range c.node.Members() {
		if m.Role == cluster.RoleRegistry && m.State == gossip.StateAlive && m.Name != self {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

// assign starts pollers for the HTTP checks this agent owns and stops the
// ones it no longer owns (an agent joined, the instance is gone or its
// check changed).
func (c *Checker) assign() {
	agents := c.agents()
	self := c.node.ID()
	want := map[string]catalog.Instance{}
	for _, inst := range c.node.FSM().CheckedInstances() {
		if inst.Check == nil || inst.Check.TTL != 0 || inst.Check.HTTP == "" {
			continue
		}
		if Owner(agents, inst.ID) == self {
			want[inst.ID] = inst
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stopCh:
		return
	default:
	}
	for id, p := range c.pollers {
		inst, ok := want[id]
		if !ok || *inst.Check != p.check {
			p.cancel()
			delete(c.pollers, id)
		}
	}
	for id, inst := range want {
		if _, ok := c.pollers[id]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		p := &poller{c: c, id: id, check: *inst.Check, cancel: cancel}
		c.pollers[id] = p
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			p.run(ctx)
		}()
	}
}

// Owned returns the ids of the instances whose HTTP checks this agent runs.
func (c *Checker) Owned() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.pollers))
	for id := range c.pollers {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// setStatus proposes a transition through the leader (which stamps its
// time).
func (c *Checker) setStatus(ctx context.Context, id, status, output string) error {
	_, err := c.node.Propose(ctx, fsm.SetStatusRequestType, &catalog.SetStatusRequest{
		ID: id, Status: status, Output: output,
	})
	if err != nil && !errors.Is(err, fsm.ErrNotFound) {
		c.log.Warn("health transition not recorded; will retry", "instance", id, "status", status, "error", err)
		return err
	}
	if err == nil {
		c.log.Info("health transition", "instance", id, "status", status, "output", output)
		c.mu.Lock()
		if c.transitions == nil {
			c.transitions = map[string]uint64{}
		}
		c.transitions[status]++
		c.mu.Unlock()
	}
	return nil
}

// Transitions returns how many status changes this agent's checks
// recorded, by the status reached: the leader records TTL expiries and
// every agent the HTTP checks it polls, so the cluster's count is the sum
// over agents.
func (c *Checker) Transitions() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.transitions))
	for s, n := range c.transitions {
		out[s] = n
	}
	return out
}

// opHeartbeat is the leader operation that renews a TTL check: the leader
// keeps the deadlines.
const opHeartbeat = "heartbeat"

// maxIDLen bounds an instance id taken from the network.
const maxIDLen = 128

// Heartbeat renews a TTL check on the leader, wherever it is, and returns
// the instance and the leader's id.
func (c *Checker) Heartbeat(ctx context.Context, id string) (catalog.Instance, string, error) {
	if id == "" || len(id) > maxIDLen {
		return catalog.Instance{}, "", fsm.ErrNotFound
	}
	out, by, err := c.node.CallLeader(ctx, opHeartbeat, []byte(id))
	if err != nil {
		return catalog.Instance{}, by, err
	}
	var inst catalog.Instance
	if err := json.Unmarshal(out, &inst); err != nil {
		return catalog.Instance{}, by, fmt.Errorf("heartbeat answer from the leader: %w", err)
	}
	return inst, by, nil
}

// heartbeatOp is opHeartbeat's handler on the leader; its argument (the
// instance id) came from the network.
func (c *Checker) heartbeatOp(ctx context.Context, arg []byte) ([]byte, error) {
	if len(arg) == 0 || len(arg) > maxIDLen || !utf8.Valid(arg) {
		return nil, fsm.ErrNotFound
	}
	inst, err := c.heartbeat(ctx, string(arg))
	if err != nil {
		return nil, err
	}
	return json.Marshal(inst)
}

// heartbeat renews a TTL check, on the leader.
func (c *Checker) heartbeat(ctx context.Context, id string) (catalog.Instance, error) {
	if !c.node.IsLeader() {
		return catalog.Instance{}, cluster.ErrNotLeader
	}
	inst, ok := c.node.FSM().Instance(id)
	if !ok {
		return catalog.Instance{}, fsm.ErrNotFound
	}
	if inst.Check == nil || inst.Check.TTL == 0 {
		return catalog.Instance{}, fmt.Errorf("%w: instance %s has no ttl check", fsm.ErrConflict, id)
	}
	c.mu.Lock()
	c.beats[id] = time.Now()
	c.mu.Unlock()
	if inst.Status == catalog.StatusCritical {
		if err := c.setStatus(ctx, id, catalog.StatusPassing, "heartbeat received"); err != nil {
			return catalog.Instance{}, err
		}
		inst, _ = c.node.FSM().Instance(id)
	}
	return inst, nil
}
