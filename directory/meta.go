package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
)

// Grant is a lock given: the fence that grows with every grant of the
// file, and the expiry. The token is the caller's: it drew it and passed
// its hash, which is all the index keeps.
type Grant struct {
	Fence   uint64    `json:"fence"`
	Expires time.Time `json:"expires"`
	File    string    `json:"file"`
	Index   uint64    `json:"-"`
}

// LockedError is a lock refused because someone else holds it.
type LockedError struct {
	Holder  string
	Expires time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s holds it until %s", ErrLocked, e.Holder, e.Expires.UTC().Format(time.RFC3339Nano))
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// MinLockTTL and MaxLockTTL bound a lock's time to live.
const (
	MinLockTTL = time.Second
	MaxLockTTL = 5 * time.Minute
)

// Lock takes the lock of a file the user may write, for ttl, for the
// token whose hash (fsm.HashToken) is tokenHash.
func (d *Directory) Lock(ctx context.Context, user, owner, name, tokenHash string, ttl time.Duration) (Grant, error) {
	if ttl < MinLockTTL || ttl > MaxLockTTL {
		return Grant{}, fmt.Errorf("%w: ttl %s: use 1s to 5m", fsm.ErrInvalid, ttl)
	}
	f, _, err := d.resolve(ctx, user, owner, name, true)
	if err != nil {
		return Grant{}, err
	}
	req := &locks.LockRequest{File: f.ID, Holder: user, TokenHash: tokenHash, TTL: ttl.Milliseconds()}
	a, err := d.cluster.Propose(ctx, fsm.DFSLockRequestType, req)
	if err != nil {
		return Grant{}, err
	}
	res := a.Resp.(*locks.Result)
	if !res.Granted {
		return Grant{}, &LockedError{Holder: res.Lock.Holder, Expires: res.Lock.Expires}
	}
	return Grant{Fence: res.Lock.Fence, Expires: res.Lock.Expires, File: f.ID, Index: a.Index}, nil
}

// Unlock gives the lock back; tokenHash is the hash of the token that
// holds it.
func (d *Directory) Unlock(ctx context.Context, user, owner, name, tokenHash string) (uint64, error) {
	f, _, err := d.resolve(ctx, user, owner, name, true)
	if err != nil {
		return 0, err
	}
	a, err := d.cluster.Propose(ctx, fsm.DFSUnlockRequestType, &locks.UnlockRequest{File: f.ID, TokenHash: tokenHash})
	if errors.Is(err, fsm.ErrLockNotHeld) {
		return 0, fmt.Errorf("%w: %q", ErrNotHolder, name)
	}
	return a.Index, err
}

// Share grants with read or write access to the owner's file name, or
// revokes it (mode none).
func (d *Directory) Share(ctx context.Context, owner, name, with, mode string) (uint64, error) {
	f, _, err := d.resolve(ctx, owner, owner, name, true)
	if err != nil {
		return 0, err
	}
	a, err := d.cluster.Propose(ctx, fsm.DFSShareRequestType, &shares.ShareRequest{File: f.ID, User: with, Mode: mode, By: owner})
	return a.Index, err
}

// Delete takes the owner's file out of the index at once; its copies
// leave the file servers afterwards.
func (d *Directory) Delete(ctx context.Context, owner, name string) (uint64, error) {
	f, _, err := d.resolve(ctx, owner, owner, name, true)
	if err != nil {
		return 0, err
	}
	a, err := d.cluster.Propose(ctx, fsm.DFSDeleteFileRequestType, &files.DeleteRequest{ID: f.ID, By: owner})
	if err != nil {
		return a.Index, err
	}
	gone := a.Resp.(*files.Result).File
	reps := d.replicasOf(gone.Replicas, false)
	d.later(0, func(ctx context.Context) { d.deleteCopies(ctx, gone.ID, 0, reps) })
	return a.Index, nil
}

// Register records a file server (at start, and after each restart).
func (d *Directory) Register(ctx context.Context, id, address string) (fileservers.Server, uint64, error) {
	a, err := d.cluster.Propose(ctx, fsm.DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: id, Address: address})
	if err != nil {
		return fileservers.Server{}, 0, err
	}
	return a.Resp.(*fileservers.Result).Server, a.Index, nil
}

// ServerView is a file server as /admin/dfs shows it.
type ServerView struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	State   string `json:"state"`
	Gossip  string `json:"gossip"`
	Ring    uint64 `json:"ring"`
	Files   int64  `json:"files"`
	Bytes   int64  `json:"bytes"`
}

// Overview is /admin/dfs.
type Overview struct {
	Servers         []ServerView `json:"servers"`
	Files           int64        `json:"files"`
	Bytes           int64        `json:"bytes"`
	UnderReplicated int64        `json:"under_replicated"`
	// Queue is the replication queue's length: files with fewer copies
	// on alive servers than they want (docs/REPLICATION.md).
	Queue    int64 `json:"replication_queue"`
	Lost     int64 `json:"lost"`
	Replicas int   `json:"replicas"`
}

// Overview answers /admin/dfs from this agent's replica.
func (d *Directory) Overview() Overview {
	f := d.cluster.FSM()
	states := map[string]string{}
	for _, m := range d.cluster.Members() {
		if m.Role == "file" {
			states[m.Name] = m.State
		}
	}
	sum := f.DFSSummary()
	o := Overview{Servers: []ServerView{}, Files: int64(sum.Files), Bytes: sum.Bytes, UnderReplicated: int64(sum.UnderReplicated), Queue: int64(sum.Queue), Lost: int64(sum.Lost), Replicas: d.cfg.Replicas}
	for _, s := range f.Servers() {
		g := states[s.ID]
		if g == "" {
			g = "unknown"
		}
		o.Servers = append(o.Servers, ServerView{ID: s.ID, Address: s.Address, State: s.State, Gossip: g, Ring: s.Ring, Files: int64(s.Files), Bytes: s.Bytes})
	}
	return o
}

// Drain starts decommissioning a file server: it is marked draining, the
// sweep makes its copies elsewhere first, then marks it left. Draining
// one already draining or left is a no-op; a dead one cannot be drained
// (its copies are being replaced already).
func (d *Directory) Drain(ctx context.Context, id string) (fileservers.Server, error) {
	if _, err := d.cluster.ConsistentRead(ctx); err != nil {
		return fileservers.Server{}, err
	}
	s, ok := d.cluster.FSM().Server(id)
	switch {
	case !ok:
		return s, fmt.Errorf("%w: no file server %q", fsm.ErrServerNotFound, id)
	case s.State == fileservers.StateDraining, s.State == fileservers.StateLeft:
		return s, nil
	case s.State == fileservers.StateDead:
		return s, fmt.Errorf("%w: file server %q is dead; its copies are being made elsewhere already", ErrNotDrainable, id)
	}
	a, err := d.cluster.Propose(ctx, fsm.DFSSetServerStateRequestType, &fileservers.SetStateRequest{ID: id, State: fileservers.StateDraining})
	if err != nil {
		return s, err
	}
	return a.Resp.(*fileservers.Result).Server, nil
}
