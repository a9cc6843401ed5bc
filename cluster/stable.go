package cluster

import (
	"sync"

	"github.com/hashicorp/raft"
)

// stableStore guards Raft's stable store across shutdown. hashicorp/raft
// answers heartbeats on the transport's connection goroutines (a fast path
// outside its main loop); one that passed its shutdown check just before
// raft.Shutdown returned can still persist a newer term after the store is
// closed, and Raft panics on that error. Once closed, this wrapper drops
// such writes: the node is already stopped, so this is the same as having
// crashed a moment earlier, which Raft tolerates.
type stableStore struct {
	raft.StableStore
	mu     sync.RWMutex
	closed bool
}

func (s *stableStore) Set(key, val []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.StableStore.Set(key, val)
}

func (s *stableStore) SetUint64(key []byte, val uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.StableStore.SetUint64(key, val)
}

// close marks the store closed once no write is in flight; the caller then
// closes the underlying database.
func (s *stableStore) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
