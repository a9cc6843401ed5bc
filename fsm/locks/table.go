package locks

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Table is the locks table: the current lock by file, and each file's
// last fence. A Table is not safe for concurrent use: fsm guards it with
// its lock.
type Table struct {
	locks  map[string]*Lock
	fences map[string]uint64
}

// New returns an empty table.
func New() *Table { return &Table{locks: map[string]*Lock{}, fences: map[string]uint64{}} }

// Clone copies the maps (not the immutable locks): the copy a snapshot
// takes.
func (t *Table) Clone() *Table {
	return &Table{locks: maps.Clone(t.locks), fences: maps.Clone(t.fences)}
}

// CheckUnlock fails unless file's lock is held by hash. Expiry does not
// matter: removing one's own expired lock is harmless.
func (t *Table) CheckUnlock(r *UnlockRequest) error {
	l, ok := t.locks[r.File]
	if !ok || l.TokenHash != r.TokenHash {
		return ErrLockNotHeld
	}
	return nil
}

// CheckHeld fails unless file's lock is held by hash with fence, whatever
// its expiry: what Precheck can judge without a clock.
func (t *Table) CheckHeld(file, hash string, fence uint64) error {
	l, ok := t.locks[file]
	if !ok || l.TokenHash != hash || l.Fence != fence {
		return ErrLockNotHeld
	}
	return nil
}

// Held fails unless file's lock is held by hash with fence and unexpired
// at now: the check an update makes at its stamped time.
func (t *Table) Held(file, hash string, fence uint64, now time.Time) error {
	if err := t.CheckHeld(file, hash, fence); err != nil {
		return err
	}
	if t.locks[file].Expired(now) {
		return ErrLockNotHeld
	}
	return nil
}

// Lock applies a LockRequest at index. The lock is granted when the file
// has none or its lock expired at r.Time: the fence is then the file's
// last plus one. A refusal is no error: the result carries the holder's
// lock, so the caller can tell who holds it and until when.
func (t *Table) Lock(index uint64, r *LockRequest) (*Result, error) {
	if cur, ok := t.locks[r.File]; ok && !cur.Expired(r.Time) {
		return &Result{Granted: false, Lock: *cur, Index: index}, nil
	}
	fence := t.fences[r.File] + 1
	l := &Lock{File: r.File, Holder: r.Holder, TokenHash: r.TokenHash, Fence: fence,
		Expires: r.Time.Add(time.Duration(r.TTL) * time.Millisecond)}
	t.locks[r.File] = l
	t.fences[r.File] = fence
	return &Result{Granted: true, Lock: *l, Index: index}, nil
}

// Unlock applies an UnlockRequest at index; the result holds the lock
// removed. The fence stays.
func (t *Table) Unlock(index uint64, r *UnlockRequest) (*Result, error) {
	if err := t.CheckUnlock(r); err != nil {
		return nil, err
	}
	l := t.locks[r.File]
	delete(t.locks, r.File)
	return &Result{Lock: *l, Index: index}, nil
}

// Drop forgets file's lock and fence: the file was deleted.
func (t *Table) Drop(file string) {
	delete(t.locks, file)
	delete(t.fences, file)
}

// Get returns file's lock as stored, expired or not (shared: copy it).
func (t *Table) Get(file string) (*Lock, bool) {
	l, ok := t.locks[file]
	return l, ok
}

// Fence returns file's last fence (0 for none yet).
func (t *Table) Fence(file string) uint64 { return t.fences[file] }

// All returns every lock ordered by file (shared: copy them).
func (t *Table) All() []*Lock {
	out := slices.Collect(maps.Values(t.locks))
	slices.SortFunc(out, func(a, b *Lock) int { return strings.Compare(a.File, b.File) })
	return out
}

// Len returns the number of locks stored (expired ones included).
func (t *Table) Len() int { return len(t.locks) }

// Fences returns the number of files with a fence.
func (t *Table) Fences() int { return len(t.fences) }
