package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
)

// Cluster is what the sweep needs of the agent's cluster layer
// (*cluster.Node implements it).
type Cluster interface {
	FSM() *fsm.FSM
	Propose(ctx context.Context, t fsm.MessageType, req any) (cluster.Applied, error)
	Members() []cluster.Member
	OnLeadership(task func(ctx context.Context))
	HandleLeaderOp(name string, op cluster.LeaderOp)
	CallLeader(ctx context.Context, op string, arg []byte) ([]byte, string, error)
}

// CopyInfo is what a target server stored.
type CopyInfo struct {
	Size   int64
	SHA256 string
}

// FileServers is the part of the file servers' protocol the sweep uses
// (the fileserver client implements it, through the agent's adapter).
type FileServers interface {
	// Alive probes a server directly.
	Alive(ctx context.Context, addr string) error
	// CopyTo asks the server at source to stream (file, version) to the
	// server at target, which stores it durably.
	CopyTo(ctx context.Context, source, file string, version uint64, target string) (CopyInfo, error)
	// Inventory lists a server's copies.
	Inventory(ctx context.Context, addr string) ([]InventoryCopy, error)
	// Delete removes one copy.
	Delete(ctx context.Context, addr, file string, version uint64) error
}

// Config tunes the sweep.
type Config struct {
	// Interval is the time between sweeps (--replication-interval).
	Interval time.Duration
	// Concurrency bounds the copies in flight per file server
	// (--replication-concurrency).
	Concurrency int
	// ProbeTimeout bounds the direct probe of a server gossip reports dead.
	ProbeTimeout time.Duration
	// ProbeAttempts is how many probes, a ProbeTimeout apart, must all
	// fail before such a server is committed dead.
	ProbeAttempts int
	// CopyTimeout bounds one copy.
	CopyTimeout time.Duration
	// OrphanGrace is how old a copy of a file the index never knew must
	// be before a returning server's copy of it is removed (--orphan-grace).
	OrphanGrace time.Duration
	// Prompt is how soon after a server is confirmed dead, registers or
	// starts draining a sweep runs.
	Prompt time.Duration
	// InventoryInterval is how often the leader reads again the
	// inventory of a server that stayed alive, to see the copies its
	// scrub found corrupt and the copies it lost (a server that registers
	// again is read at once); 0: only on registration.
	InventoryInterval time.Duration
	Logger            *slog.Logger
}

// DefaultConfig returns the seed's: a sweep every 30 s.
func DefaultConfig() Config {
	return Config{Interval: 30 * time.Second, Concurrency: 4, ProbeTimeout: 2 * time.Second, ProbeAttempts: 3, CopyTimeout: 5 * time.Minute, OrphanGrace: time.Hour, Prompt: 200 * time.Millisecond, InventoryInterval: 10 * time.Minute}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.Interval <= 0:
		return errors.New("replication-interval must be positive")
	case c.Concurrency < 1:
		return errors.New("replication-concurrency must be at least 1")
	case c.ProbeTimeout <= 0, c.CopyTimeout <= 0, c.Prompt <= 0:
		return errors.New("replication timeouts must be positive")
	case c.ProbeAttempts < 1:
		return errors.New("replication probe attempts must be at least 1")
	case c.OrphanGrace < 0:
		return errors.New("orphan-grace must not be negative")
	case c.InventoryInterval < 0:
		return errors.New("inventory-interval must not be negative")
	}
	return nil
}

// LastSweep is what the last sweep did.
type LastSweep struct {
	At     time.Time `json:"at"`
	Copied int       `json:"copied"`
	Failed int       `json:"failed"`
	TookMS int64     `json:"took_ms"`
}

// Status is the sweep's state as the leader knows it.
type Status struct {
	InFlight  int        `json:"in_flight"`
	LastSweep *LastSweep `json:"last_sweep,omitempty"`
	Sweeps    uint64     `json:"sweeps"`
	// Copied and Failed count the copies of every sweep since this agent
	// became leader: a sweep that healed a server is soon followed by
	// sweeps with nothing to do, which last_sweep then shows.
	Copied uint64 `json:"copied"`
	Failed uint64 `json:"failed"`
}

// Sweeper runs the replication sweep while its agent leads.
type Sweeper struct {
	c   Cluster
	fs  FileServers
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	status   Status
	inFlight map[string]int // per server id, while copies run
	// seen holds, for the servers found alive in the index at the last
	// sweep, when their inventory was last reconciled: one that
	// registers again, or whose reconciliation is InventoryInterval old,
	// is reconciled.
	seen map[string]time.Time
	// kick asks for a sweep soon.
	kick chan struct{}
	// answered holds when a server gossip called dead last answered a
	// direct probe: it is not suspected again for an Interval, so a
	// gossip view that disagrees with the probe does not make a sweep
	// every Prompt.
	answered map[string]time.Time
	// revived holds when a server the index holds dead, and gossip alive,
	// was last probed to be marked alive again: at most once an Interval
	// while the probe fails.
	revived map[string]time.Time
}

// opStatus is the leader operation that answers the sweep's status.
const opStatus = "replication-status"

// New builds the sweep and registers it to run while c leads.
func New(c Cluster, fs FileServers, cfg Config) (*Sweeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sweeper{c: c, fs: fs, cfg: cfg, log: cfg.Logger, inFlight: map[string]int{}, kick: make(chan struct{}, 1), answered: map[string]time.Time{}, revived: map[string]time.Time{}}
	c.OnLeadership(s.lead)
	c.HandleLeaderOp(opStatus, func(ctx context.Context, arg []byte) ([]byte, error) { return jsonOf(s.localStatus()) })
	return s, nil
}

// Kick asks for a sweep soon (a drain, say).
func (s *Sweeper) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// LocalStatus is this agent's own sweep status (zero unless it leads or
// has led): what the metrics read, without a call to the leader.
func (s *Sweeper) LocalStatus() Status { return s.localStatus() }

func (s *Sweeper) localStatus() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	for _, n := range s.inFlight {
		st.InFlight += n
	}
	st.InFlight /= 2 // each copy counts on its source and its target
	return st
}

// Status asks the leader for the sweep's status.
func (s *Sweeper) Status(ctx context.Context) (Status, error) {
	out, _, err := s.c.CallLeader(ctx, opStatus, nil)
	if err != nil {
		return Status{}, err
	}
	var st Status
	return st, unjson(out, &st)
}

// lead is the leader task: a sweep every Interval, and one soon after a
// file server's state or registration changes, until leadership ends.
func (s *Sweeper) lead(ctx context.Context) {
	s.mu.Lock()
	s.seen = nil // a new leader reconciles every server it finds alive
	s.status = Status{}
	s.mu.Unlock()
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	watch := time.NewTicker(s.cfg.Prompt)
	defer watch.Stop()
	after := s.c.FSM().AppliedIndex()
	s.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		case <-watch.C:
			// Prompt: a server gossip reports dead, or a file-server
			// event (registration, state change) since the last look.
			evs, _, _ := s.c.FSM().Events(after)
			prompt := false
			for _, e := range evs {
				after = max(after, e.Index)
				if e.Type == fsm.EventFileServer {
					prompt = true
				}
			}
			if !prompt && !s.suspects() {
				continue
			}
		}
		s.sweep(ctx)
	}
}

// suspects reports whether gossip says a server the index holds alive is
// not.
func (s *Sweeper) suspects() bool {
	g := gossipStates(s.c.Members())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.c.FSM().Servers() {
		if srv.State == fileservers.StateAlive && g[srv.ID] != gossip.StateAlive && time.Since(s.answered[srv.ID]) > s.cfg.Interval {
			return true
		}
		if srv.State == fileservers.StateDead && g[srv.ID] == gossip.StateAlive && time.Since(s.revived[srv.ID]) > s.cfg.Interval {
			return true
		}
	}
	return false
}

func gossipStates(ms []cluster.Member) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		if m.Role == gossip.RoleFile {
			out[m.Name] = m.State
		}
	}
	return out
}

// sweep does one round: confirm deaths, reconcile returning servers,
// make the copies the plan asks for, finish drains.
func (s *Sweeper) sweep(ctx context.Context) {
	start := time.Now()
	s.detect(ctx)
	s.reconcileReturned(ctx)
	// Copy in rounds of at most Concurrency copies per server: a round
	// that made copies is followed at once by another, planned afresh,
	// until one makes none or the sweep has run for an Interval (then
	// detection and reconciliation get their turn, and the next tick
	// resumes). One round per Interval would heal a server of N files
	// in N/Concurrency intervals.
	copied, failed := 0, 0
	for ctx.Err() == nil {
		c, fl := s.copyAll(ctx)
		copied, failed = copied+c, failed+fl
		if c == 0 || time.Since(start) >= s.cfg.Interval {
			break
		}
	}
	s.finishDrains(ctx)
	s.mu.Lock()
	s.status.Sweeps++
	s.status.Copied += uint64(copied)
	s.status.Failed += uint64(failed)
	s.status.LastSweep = &LastSweep{At: start.UTC(), Copied: copied, Failed: failed, TookMS: time.Since(start).Milliseconds()}
	s.mu.Unlock()
	if copied+failed > 0 {
		s.log.Info("replication sweep", "copied", copied, "failed", failed, "took", time.Since(start))
	}
}

// detect probes every server the index holds alive and gossip does not,
// and commits it dead when ProbeAttempts probes fail too (confirmDead); and every server the
// index holds dead and gossip alive, and commits it alive again when it
// answers (revive).
func (s *Sweeper) detect(ctx context.Context) {
	g := gossipStates(s.c.Members())
	for _, srv := range s.c.FSM().Servers() {
		if srv.State == fileservers.StateDead && g[srv.ID] == gossip.StateAlive {
			s.revive(ctx, srv)
			continue
		}
		if srv.State != fileservers.StateAlive || g[srv.ID] == gossip.StateAlive {
			continue
		}
		err := confirmDead(ctx, func(pctx context.Context) error { return s.fs.Alive(pctx, srv.Address) }, s.cfg.ProbeAttempts, s.cfg.ProbeTimeout)
		if err == nil {
			// Gossip's view is stale or partitioned: the server answers.
			s.mu.Lock()
			s.answered[srv.ID] = time.Now()
			s.mu.Unlock()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		// Only as it was before the probe: a server restarted since
		// registered again (a new ModifyIndex) and is not dead.
		s.log.Warn("file server confirmed dead", "server", srv.ID, "probe", err)
		s.setState(ctx, srv.ID, fileservers.StateDead, srv.ModifyIndex)
	}
}

// revive marks alive again a server the index holds dead that gossip
// sees alive and that answers its probe: one that was cut off (a
// partition, a long pause) and came back without restarting, so without
// registering again. Only as it was before the probe (a CAS on its
// ModifyIndex); the next sweep reconciles its inventory, as for a server
// that registered again.
func (s *Sweeper) revive(ctx context.Context, srv fileservers.Server) {
	s.mu.Lock()
	last := s.revived[srv.ID]
	if time.Since(last) <= s.cfg.Interval {
		s.mu.Unlock()
		return
	}
	s.revived[srv.ID] = time.Now()
	s.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, s.cfg.ProbeTimeout)
	err := s.fs.Alive(pctx, srv.Address)
	cancel()
	if err != nil {
		return
	}
	s.log.Warn("file server answers again; marked alive", "server", srv.ID)
	s.setState(ctx, srv.ID, fileservers.StateAlive, srv.ModifyIndex)
	s.mu.Lock()
	delete(s.revived, srv.ID)
	s.mu.Unlock()
}

// setState proposes a server's state; ifIndex, when not 0, makes it
// conditional on the server's ModifyIndex (fileservers.SetStateRequest).
func (s *Sweeper) setState(ctx context.Context, id, state string, ifIndex uint64) {
	_, err := s.c.Propose(ctx, fsm.DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: id, State: state, IfIndex: ifIndex})
	if errors.Is(err, fsm.ErrServerChanged) {
		s.log.Info("a file server changed before its state was recorded; looked at again next sweep", "server", id, "state", state)
		return
	}
	if err != nil {
		s.log.Warn("could not record a file server's state", "server", id, "state", state, "error", err)
	}
}

// finishDrains marks left every draining server no file lists any more.
func (s *Sweeper) finishDrains(ctx context.Context) {
	f := s.c.FSM()
	for _, srv := range f.Servers() {
		if srv.State == fileservers.StateDraining && srv.Files == 0 {
			s.setState(ctx, srv.ID, fileservers.StateLeft, srv.ModifyIndex)
		}
	}
}

// copyAll plans from the leader's index and runs the copies, at most
// Concurrency per server at once, then commits each.
func (s *Sweeper) copyAll(ctx context.Context) (copied, failed int) {
	f := s.c.FSM()
	servers := f.Servers()
	addr := map[string]string{}
	var ps []Server
	for _, srv := range servers {
		addr[srv.ID] = srv.Address
		ps = append(ps, Server{ID: srv.ID, Address: srv.Address, State: srv.State, Ring: srv.Ring})
	}
	queue := f.ReplicationQueue()
	var pf []File
	for _, fl := range queue {
		pf = append(pf, File{ID: fl.ID, Version: fl.Version, Size: fl.Size, SHA256: fl.SHA256, Replicas: fl.Replicas, Want: fl.Want})
	}
	plan := Plan(ps, pf, Limits{PerServer: s.cfg.Concurrency})
	if len(plan) == 0 {
		return 0, 0
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, cp := range plan {
		wg.Add(1)
		s.track(cp, 1)
		go func() {
			defer wg.Done()
			defer s.track(cp, -1)
			err := s.copyOne(ctx, cp, addr)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				s.log.Warn("replication copy failed; retried next sweep", "file", cp.File, "version", cp.Version, "from", cp.Source, "to", cp.Target, "error", err)
				return
			}
			copied++
		}()
	}
	wg.Wait()
	return copied, failed
}

func (s *Sweeper) track(cp Copy, d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight[cp.Source] += d
	s.inFlight[cp.Target] += d
}

// copyOne makes one copy and commits it: the target's bytes are checked
// against the index, and the new replica list is committed only for the
// version copied (an update or delete meanwhile drops the copy).
func (s *Sweeper) copyOne(ctx context.Context, cp Copy, addr map[string]string) error {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CopyTimeout)
	defer cancel()
	info, err := s.fs.CopyTo(cctx, addr[cp.Source], cp.File, cp.Version, addr[cp.Target])
	if err != nil {
		return err
	}
	if info.Size != cp.Size || info.SHA256 != cp.SHA256 {
		_ = s.fs.Delete(ctx, addr[cp.Target], cp.File, cp.Version)
		return fmt.Errorf("the target stored %d bytes with SHA-256 %s, the index says %d with %s", info.Size, info.SHA256, cp.Size, cp.SHA256)
	}
	f := s.c.FSM()
	cur, ok := f.File(cp.File)
	if !ok || cur.Version != cp.Version {
		_ = s.fs.Delete(ctx, addr[cp.Target], cp.File, cp.Version)
		return fmt.Errorf("the file changed while it was copied")
	}
	state := stateOf(f.Servers())
	if aliveCopies(cur, state) >= cur.Want {
		// Enough copies meanwhile (a server came back, a copy was
		// adopted): this one would be a surplus.
		_ = s.fs.Delete(ctx, addr[cp.Target], cp.File, cp.Version)
		return nil
	}
	replicas := withReplica(cur, cp.Target, state)
	_, err = s.c.Propose(ctx, fsm.DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: cur.ID, Version: cur.Version, Replicas: replicas})
	if errors.Is(err, fsm.ErrStaleVersion) || errors.Is(err, fsm.ErrFileNotFound) {
		_ = s.fs.Delete(ctx, addr[cp.Target], cp.File, cp.Version)
	}
	return err
}

// aliveCopies counts f's replicas on alive servers.
func aliveCopies(f files.File, state map[string]string) int {
	n := 0
	for _, r := range f.Replicas {
		if state[r] == fileservers.StateAlive {
			n++
		}
	}
	return n
}

func stateOf(servers []fileservers.Server) map[string]string {
	out := map[string]string{}
	for _, s := range servers {
		out[s.ID] = s.State
	}
	return out
}

// withReplica is f's replica list with target added: replicas on alive
// servers first (in order), then the target, then the others (draining,
// dead); replicas on dead or left servers are dropped once the file has
// Want copies on alive servers, and so are draining ones.
func withReplica(f files.File, target string, state map[string]string) []string {
	var alive, rest []string
	for _, r := range f.Replicas {
		if r == target {
			continue
		}
		if state[r] == fileservers.StateAlive {
			alive = append(alive, r)
		} else {
			rest = append(rest, r)
		}
	}
	alive = append(alive, target)
	if len(alive) >= f.Want {
		return alive
	}
	return append(alive, rest...)
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

func unjson(b []byte, v any) error { return json.Unmarshal(b, v) }
