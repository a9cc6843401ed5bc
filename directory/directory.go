package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
)

// Cluster is what the directory needs of the agent's cluster layer
// (*cluster.Node implements it).
type Cluster interface {
	ID() string
	FSM() *fsm.FSM
	Propose(ctx context.Context, t fsm.MessageType, req any) (cluster.Applied, error)
	ConsistentRead(ctx context.Context) (uint64, error)
	CallLeader(ctx context.Context, op string, arg []byte) ([]byte, string, error)
	HandleLeaderOp(name string, op cluster.LeaderOp)
	Members() []cluster.Member
}

// CopyInfo is what a file server reports of a copy it stored.
type CopyInfo struct {
	Size   int64
	SHA256 string
}

// Copies is the part of the file servers' protocol the directory uses
// (fileserver's client implements it; tests use fakes).
type Copies interface {
	// Put stores body as (file, version) on the server at addr, refused
	// when fence is below the highest fence the server saw for the file.
	Put(ctx context.Context, addr, file string, version, fence uint64, body io.Reader) (CopyInfo, error)
	// Get streams (file, version) from offset on, with what the server
	// says of the whole copy (its size and SHA-256), so that a copy that
	// is not the one the index names is never served.
	Get(ctx context.Context, addr, file string, version uint64, offset int64) (io.ReadCloser, CopyInfo, error)
	// Delete removes one version; DeleteAll every version of the file.
	Delete(ctx context.Context, addr, file string, version uint64) error
	DeleteAll(ctx context.Context, addr, file string) error
}

// Config tunes the directory.
type Config struct {
	// Replicas is R: how many copies a new file gets (--replicas).
	Replicas int
	// MaxFileSize bounds a file's bytes (--max-file-size).
	MaxFileSize int64
	// OldVersionGrace is how long an update leaves the replaced version's
	// bytes on the file servers, so reads that began before the update
	// finish.
	OldVersionGrace time.Duration
	// PendingTTL is how long the leader counts a placement it handed out
	// and that was not committed.
	PendingTTL time.Duration
	// CopyTimeout bounds one call to a file server that moves no bytes
	// (delete); transfers are bounded by their client's request.
	CopyTimeout time.Duration
	// CommitWithin bounds the time from a write's first byte stored to
	// its commit being proposed. The leader's sweep removes copies the
	// index does not name once they are older than --orphan-grace, so a
	// write slower than that could commit copies already reclaimed; the
	// agent sets this to half the orphan grace.
	CommitWithin time.Duration
	Logger       *slog.Logger
}

// DefaultConfig returns the defaults: two copies, 1 GiB files.
func DefaultConfig() Config {
	return Config{Replicas: 2, MaxFileSize: 1 << 30, OldVersionGrace: 5 * time.Second, PendingTTL: time.Minute, CopyTimeout: 10 * time.Second, CommitWithin: 30 * time.Minute}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.Replicas < 1 || c.Replicas > 16:
		return fmt.Errorf("replicas %d: use 1 to 16", c.Replicas)
	case c.MaxFileSize < 1:
		return fmt.Errorf("max-file-size %d: must be positive", c.MaxFileSize)
	case c.OldVersionGrace < 0, c.PendingTTL <= 0, c.CopyTimeout <= 0, c.CommitWithin <= 0:
		return errors.New("directory: grace, pending and copy timeouts must be positive")
	}
	return nil
}

// Sentinels of the directory, mapped to statuses by the api.
var (
	// ErrNoFileServer: no file server is live to take a write (503).
	ErrNoFileServer = errors.New("no file server is live")
	// ErrNoLiveCopy: every replica of the file failed to answer (503).
	ErrNoLiveCopy = errors.New("no live copy of the file")
	// ErrTooLarge: the file is over MaxFileSize (413).
	ErrTooLarge = errors.New("file too large")
	// ErrLocked: another holder has the file's lock (409; LockedError
	// says who and until when).
	ErrLocked = errors.New("the file is locked")
	// ErrNotHolder: unlock with a token that does not hold the lock (409).
	ErrNotHolder = errors.New("that token does not hold the lock")
	// ErrStoreFailed: no replica stored the bytes (503; nothing committed).
	ErrStoreFailed = errors.New("the file servers did not store the file")
	// ErrNotDrainable: a dead server cannot be drained (409).
	ErrNotDrainable = errors.New("the file server cannot be drained")
	// ErrTooSlow: a write took longer than CommitWithin to store (503;
	// nothing committed).
	ErrTooSlow = errors.New("the write took too long to store")
	// ErrFenced is what Copies.Put returns when the server has seen a
	// higher lock fence for the file: a later holder of the lock wrote.
	ErrFenced = errors.New("a later lock holder's fence was seen")
)

// Directory is one agent's directory service.
type Directory struct {
	cluster Cluster
	copies  Copies
	cfg     Config
	log     *slog.Logger

	// pending is the leader's record of placements handed out and not yet
	// committed (leader.go).
	pendingMu sync.Mutex
	pending   map[string]pendingPlacement
	// seenEvents is the last FSM event index forgetCommitted read.
	seenEvents uint64

	// bg tracks background deletions so Close can wait for them.
	bg     sync.WaitGroup
	stopCh chan struct{}
	once   sync.Once
}

// New builds the directory of one agent and registers its leader
// operation on c.
func New(c Cluster, copies Copies, cfg Config) (*Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Directory{cluster: c, copies: copies, cfg: cfg, log: cfg.Logger, pending: map[string]pendingPlacement{}, stopCh: make(chan struct{})}
	c.HandleLeaderOp(opPlace, d.placeOp)
	return d, nil
}

// Close stops background deletions (what they did not reach stays on the
// file servers until their inventory is reconciled).
func (d *Directory) Close() {
	d.once.Do(func() { close(d.stopCh) })
	d.bg.Wait()
}

// later runs f after wait in the background, unless Close comes first.
func (d *Directory) later(wait time.Duration, f func(ctx context.Context)) {
	d.bg.Add(1)
	go func() {
		defer d.bg.Done()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-d.stopCh:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.CopyTimeout)
		defer cancel()
		f(ctx)
	}()
}
