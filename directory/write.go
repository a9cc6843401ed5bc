package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/files"
)

// Written is the outcome of a write or an update: the file as committed
// and the Raft index that committed it.
type Written struct {
	File  files.File
	Index uint64
	By    string
}

// Write stores a new file named name for user: the leader places it, the
// bytes go to every replica at once, and the index entry is committed
// only once every replica that is listed has them durably. declared is the
// body's announced length, or -1.
func (d *Directory) Write(ctx context.Context, user, name string, body io.Reader, declared int64) (Written, error) {
	if err := files.ValidateName(name); err != nil {
		return Written{}, fmt.Errorf("%w: %v", fsm.ErrInvalid, err)
	}
	if declared > d.cfg.MaxFileSize {
		return Written{}, d.tooLarge()
	}
	if _, ok := d.cluster.FSM().FileByName(user, name); ok {
		return Written{}, fmt.Errorf("%w: you already have a file named %q", fsm.ErrFileExists, name)
	}
	p, err := d.place(ctx, max(declared, 0))
	if err != nil {
		return Written{}, err
	}
	began := time.Now()
	stored, size, sum, err := d.store(ctx, p.File, 1, 0, p.Replicas, body)
	if err != nil {
		return Written{}, err
	}
	if err := d.inTime(began); err != nil {
		d.later(0, func(ctx context.Context) { d.deleteCopies(ctx, p.File, 0, stored) })
		return Written{}, err
	}
	req := &files.CreateRequest{ID: p.File, Owner: user, Name: name, Size: size, SHA256: sum, Replicas: ids(stored), Want: d.cfg.Replicas}
	a, err := d.cluster.Propose(ctx, fsm.DFSCreateFileRequestType, req)
	if err != nil {
		// The id is this write's alone, so its copies can go at once, but
		// only when the create certainly did not commit (the state refused
		// it). An unknown outcome (leadership lost while committing) may
		// have committed: its copies stay, and if the index does not name
		// them the sweep reclaims them after --orphan-grace.
		if fsm.ErrorName(err) != "" || errors.Is(err, fsm.ErrInvalid) {
			d.later(0, func(ctx context.Context) { d.deleteCopies(ctx, p.File, 0, stored) })
		}
		return Written{By: a.By}, err
	}
	return Written{File: a.Resp.(*files.Result).File, Index: a.Index, By: a.By}, nil
}

// Update replaces the bytes of a file whose lock token holds the lock:
// the new version goes to the file's replicas beside the old one, fenced
// by the lock's fence, and becomes current when the index commits it
// (the leader checks the lock again then). The old version's bytes are
// removed after OldVersionGrace.
func (d *Directory) Update(ctx context.Context, user, owner, name, tokenHash string, body io.Reader, declared int64) (Written, error) {
	if declared > d.cfg.MaxFileSize {
		return Written{}, d.tooLarge()
	}
	f, _, err := d.resolve(ctx, user, owner, name, true)
	if err != nil {
		return Written{}, err
	}
	hash := tokenHash
	l, ok := d.cluster.FSM().Lock(f.ID)
	if hash == "" || !ok || l.TokenHash != hash || !time.Now().Before(l.Expires) {
		return Written{}, fmt.Errorf("%w: the X-Lock-Token does not hold the lock on %q now (lock it with POST /lock)", fsm.ErrLockNotHeld, name)
	}
	targets := d.replicasOf(f.Replicas, true)
	if len(targets) == 0 {
		return Written{}, ErrNoFileServer
	}
	began := time.Now()
	stored, size, sum, err := d.store(ctx, f.ID, f.Version+1, l.Fence, targets, body)
	if err != nil {
		return Written{}, err
	}
	if err := d.inTime(began); err != nil {
		return Written{}, err
	}
	req := &files.UpdateRequest{ID: f.ID, Version: f.Version + 1, Size: size, SHA256: sum, Replicas: ids(stored), TokenHash: hash, Fence: l.Fence}
	a, err := d.cluster.Propose(ctx, fsm.DFSUpdateFileRequestType, req)
	if err != nil {
		// The new version's copies stay: a later holder may have written
		// the same version over them (its fence let it), and they are
		// then its bytes. Copies of a version the index never committed
		// are cleared by the file servers' reconciliation.
		return Written{By: a.By}, err
	}
	res := a.Resp.(*files.Result)
	if old := res.Old; old != nil {
		reps := d.replicasOf(old.Replicas, false)
		d.later(d.cfg.OldVersionGrace, func(ctx context.Context) { d.deleteCopies(ctx, old.ID, old.Version, reps) })
	}
	return Written{File: res.File, Index: a.Index, By: a.By}, nil
}

// inTime fails a write whose bytes took longer than CommitWithin to
// store: its first copies may be reclaimed as orphans before it commits.
func (d *Directory) inTime(began time.Time) error {
	if took := time.Since(began); took > d.cfg.CommitWithin {
		return fmt.Errorf("%w: %s to store, more than the %s a write may take before it commits (half of --orphan-grace)", ErrTooSlow, took.Round(time.Millisecond), d.cfg.CommitWithin)
	}
	return nil
}

func (d *Directory) tooLarge() error {
	return fmt.Errorf("%w: the limit is %d bytes (--max-file-size)", ErrTooLarge, d.cfg.MaxFileSize)
}

func ids(rs []Replica) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// store streams body to every target at once as (file, version) and
// returns the targets that stored it whole, with the bytes' size and
// SHA-256. A target that fails is dropped and the others go on; when
// none is left, or the body fails or is too large, nothing is kept.
func (d *Directory) store(ctx context.Context, file string, version, fence uint64, targets []Replica, body io.Reader) ([]Replica, int64, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		info CopyInfo
		err  error
	}
	results := make([]result, len(targets))
	pipes := make([]*io.PipeWriter, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		pr, pw := io.Pipe()
		pipes[i] = pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := d.copies.Put(ctx, t.Address, file, version, fence, pr)
			results[i] = result{info, err}
			// Unblock the fan-out if the put ended before the body did.
			pr.CloseWithError(fmt.Errorf("replica %s: %w", t.ID, errOr(err, io.ErrClosedPipe)))
		}()
	}
	h := sha256.New()
	fan := &fanOut{pipes: pipes, failed: make([]bool, len(pipes))}
	limited := &io.LimitedReader{R: body, N: d.cfg.MaxFileSize + 1}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, copyErr := io.CopyBuffer(io.MultiWriter(h, fan), limited, *buf)
	switch {
	case copyErr == nil && n > d.cfg.MaxFileSize:
		copyErr = d.tooLarge()
	case copyErr != nil && errors.Is(copyErr, errAllFailed):
		copyErr = nil // reported below, with the replicas' own errors
	case copyErr != nil:
		copyErr = fmt.Errorf("reading the request body: %w", copyErr)
	}
	for _, pw := range pipes {
		if copyErr != nil {
			pw.CloseWithError(copyErr)
		} else {
			pw.Close()
		}
	}
	if copyErr != nil {
		cancel()
	}
	wg.Wait()
	sum := hex.EncodeToString(h.Sum(nil))
	var stored []Replica
	var errs []error
	for i, r := range results {
		switch {
		case r.err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", targets[i].ID, r.err))
		case fan.failed[i]:
			errs = append(errs, fmt.Errorf("%s: the transfer broke off", targets[i].ID))
		case r.info.Size != n || r.info.SHA256 != sum:
			errs = append(errs, fmt.Errorf("%s: stored %d bytes with SHA-256 %s, sent %d with %s", targets[i].ID, r.info.Size, r.info.SHA256, n, sum))
		default:
			stored = append(stored, targets[i])
		}
	}
	if copyErr != nil || len(stored) == 0 {
		// Copies of a failed transfer: nothing in the index names them.
		// A failed update's stay (see Update).
		if version == 1 && len(stored) > 0 {
			d.later(0, func(ctx context.Context) { d.deleteCopies(ctx, file, 0, stored) })
		}
		if copyErr != nil {
			return nil, 0, "", copyErr
		}
		all := errors.Join(errs...)
		if errors.Is(all, ErrFenced) {
			// The storage saw a later holder's fence: this lock is over.
			return nil, 0, "", fmt.Errorf("%w: a later holder of the lock has written (%v)", fsm.ErrLockNotHeld, all)
		}
		return nil, 0, "", fmt.Errorf("%w: %v", ErrStoreFailed, all)
	}
	if len(errs) > 0 {
		d.log.Warn("a replica failed during a write; the file is under-replicated until repaired", "file", file, "version", version, "errors", errors.Join(errs...))
	}
	return stored, n, sum, nil
}

var errAllFailed = errors.New("every replica failed")

// fanOut hands each chunk to every replica still going; one that fails is
// dropped and the others go on.
type fanOut struct {
	pipes  []*io.PipeWriter
	failed []bool
}

func (f *fanOut) Write(p []byte) (int, error) {
	ok := 0
	for i, w := range f.pipes {
		if f.failed[i] {
			continue
		}
		if _, err := w.Write(p); err != nil {
			f.failed[i] = true
			continue
		}
		ok++
	}
	if ok == 0 {
		return 0, errAllFailed
	}
	return len(p), nil
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// deleteCopies removes (file, version) from the given servers, or every
// version when version is 0; failures are logged (the file servers'
// reconciliation catches what is left).
func (d *Directory) deleteCopies(ctx context.Context, file string, version uint64, on []Replica) {
	for _, r := range on {
		var err error
		if version == 0 {
			err = d.copies.DeleteAll(ctx, r.Address, file)
		} else {
			err = d.copies.Delete(ctx, r.Address, file, version)
		}
		if err != nil {
			d.log.Warn("could not remove a copy", "file", file, "version", version, "server", r.ID, "error", err)
		}
	}
}
