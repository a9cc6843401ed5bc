package keyring

import (
	"sync"
	"time"
)

// replayCache remembers recently accepted signatures so that a captured
// request cannot be sent again while its time is still inside the window.
// Entries are kept for twice the window after they arrive (a request may
// arrive up to a window early and be replayed up to a window late), in
// arrival order, so expiry is a walk from the front. When full, the oldest
// entry is dropped: under extreme load replay refusal weakens, it never
// refuses a fresh request.
type replayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[[32]byte]struct{}
	queue []replayEntry // ring buffer, oldest at head
	head  int
	n     int
}

type replayEntry struct {
	sig     [32]byte
	expires time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[[32]byte]struct{}), queue: make([]replayEntry, max)}
}

// add records sig and reports whether it was new.
func (c *replayCache) add(sig [32]byte, now time.Time, keep time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 && now.After(c.queue[c.head].expires) {
		c.pop()
	}
	if _, dup := c.seen[sig]; dup {
		return false
	}
	if c.n == c.max {
		c.pop()
	}
	c.seen[sig] = struct{}{}
	c.queue[(c.head+c.n)%c.max] = replayEntry{sig: sig, expires: now.Add(keep)}
	c.n++
	return true
}

// pop forgets the oldest entry.
func (c *replayCache) pop() {
	delete(c.seen, c.queue[c.head].sig)
	c.head = (c.head + 1) % c.max
	c.n--
}
