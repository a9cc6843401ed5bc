package locks

import (
	"errors"
	"time"
)

// ErrLockNotHeld: the file's lock is not held by that token hash (with
// that fence), or it expired. A business outcome: the entry still applied
// on every replica; fsm lists it with its wire name.
var ErrLockNotHeld = errors.New("lock not held")

// Limits of a lock's time to live, in milliseconds.
const (
	MinTTL = int64(time.Second / time.Millisecond)
	MaxTTL = int64(5 * time.Minute / time.Millisecond)
)

// Lock is one file's lock. Stored locks are immutable: a grant stores a
// new one.
type Lock struct {
	File   string `json:"file"`
	Holder string `json:"holder"`
	// TokenHash is the lowercase hex SHA-256 of the holder's lock token.
	TokenHash string    `json:"token_hash"`
	Fence     uint64    `json:"fence"`
	Expires   time.Time `json:"expires"`
}

// Expired reports whether the lock is free at now.
func (l *Lock) Expired(now time.Time) bool { return !l.Expires.After(now) }

// Result is a command's outcome. For a lock request: whether it was
// granted and the lock (the new one, or the current holder's on a
// refusal). For an unlock: the lock removed.
type Result struct {
	Granted bool   `json:"granted"`
	Lock    Lock   `json:"lock"`
	Index   uint64 `json:"index"`
}

// LockRequest asks for File's lock for TTL milliseconds from Time.
type LockRequest struct {
	File      string    `json:"file"`
	Holder    string    `json:"holder"`
	TokenHash string    `json:"token_hash"`
	TTL       int64     `json:"ttl"`
	Time      time.Time `json:"time"`
}

// UnlockRequest releases File's lock held by TokenHash.
type UnlockRequest struct {
	File      string `json:"file"`
	TokenHash string `json:"token_hash"`
}

// Stamp sets the time the lock is asked at (expiry is judged at it).
func (r *LockRequest) Stamp(now time.Time, _ func() string) { r.Time = now.UTC() }
