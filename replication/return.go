package replication

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
)

// The sweep's side of a server's return: read its inventory and act on
// Reconcile's decisions.

// reconcileReturned reads the inventory of every server that is alive in
// the index and was not at the last sweep (it registered again, or this
// agent just became leader), or whose last reconciliation is
// InventoryInterval old, and acts on what it holds.
func (s *Sweeper) reconcileReturned(ctx context.Context) {
	f := s.c.FSM()
	now := map[string]bool{}
	var fresh []fileservers.Server
	s.mu.Lock()
	for _, srv := range f.Servers() {
		if srv.State != fileservers.StateAlive {
			continue
		}
		now[srv.ID] = true
		at, ok := s.seen[srv.ID]
		if !ok || s.cfg.InventoryInterval > 0 && time.Since(at) >= s.cfg.InventoryInterval {
			fresh = append(fresh, srv)
		}
	}
	s.mu.Unlock()
	done := map[string]time.Time{}
	for _, srv := range fresh {
		if err := s.reconcile(ctx, srv); err != nil {
			s.log.Warn("could not reconcile a file server's copies; retried next sweep", "server", srv.ID, "error", err)
			continue
		}
		done[srv.ID] = time.Now()
	}
	s.mu.Lock()
	seen := map[string]time.Time{}
	for id := range now {
		if at, ok := done[id]; ok {
			seen[id] = at
		} else if at, ok := s.seen[id]; ok {
			seen[id] = at
		}
	}
	s.seen = seen
	s.mu.Unlock()
}

// reconcile reads srv's inventory and acts on it. Files the index
// changed while the inventory was read are left for the next round: the
// inventory may predate a copy an update or a sweep just made there, or
// postdate the removal of a version the update replaced.
func (s *Sweeper) reconcile(ctx context.Context, srv fileservers.Server) error {
	f := s.c.FSM()
	before := f.AppliedIndex()
	ictx, cancel := context.WithTimeout(ctx, s.cfg.ProbeTimeout*5)
	inv, err := s.fs.Inventory(ictx, srv.Address)
	cancel()
	if err != nil {
		return err
	}
	state := stateOf(f.Servers())
	index := map[string]IndexedFile{}
	changed := map[string]bool{}
	add := func(fl files.File) {
		index[fl.ID] = indexed(fl, state)
		if fl.ModifyIndex > before {
			changed[fl.ID] = true
		}
	}
	for _, c := range inv {
		if fl, ok := f.File(c.File); ok {
			add(fl)
		}
	}
	// Files listing this server must be checked too (a copy it lost).
	for _, fl := range f.FilesOn(srv.ID) {
		add(fl)
	}
	for _, a := range Reconcile(srv.ID, inv, index, time.Now(), s.cfg.OrphanGrace) {
		if changed[a.File] {
			continue
		}
		if a.Kind != ReconcileKeep {
			s.log.Info("reconciling a file server's copy", "server", srv.ID, "file", a.File, "version", a.Version, "action", a.Kind, "reason", a.Reason)
		}
		if err := s.act(ctx, srv, a); err != nil {
			return err
		}
	}
	return nil
}

func indexed(fl files.File, state map[string]string) IndexedFile {
	return IndexedFile{ID: fl.ID, Version: fl.Version, Size: fl.Size, SHA256: fl.SHA256, Replicas: slices.Clone(fl.Replicas), Want: fl.Want, LiveCopies: aliveCopies(fl, state)}
}

// act carries out one reconciliation action on srv.
func (s *Sweeper) act(ctx context.Context, srv fileservers.Server, a ReconcileAction) error {
	switch a.Kind {
	case ReconcileDelete:
		return s.fs.Delete(ctx, srv.Address, a.File, a.Version)
	case ReconcileAdopt, ReconcileDropReplica:
		f := s.c.FSM()
		cur, ok := f.File(a.File)
		if !ok || cur.Version != a.Version {
			return nil // updated or deleted since: the decision was about another version
		}
		var replicas []string
		if a.Kind == ReconcileAdopt {
			state := stateOf(f.Servers())
			if slices.Contains(cur.Replicas, srv.ID) {
				return nil
			}
			if aliveCopies(cur, state) >= cur.Want {
				// Healed since the inventory was read: a surplus copy.
				return s.fs.Delete(ctx, srv.Address, a.File, a.Version)
			}
			replicas = withReplica(cur, srv.ID, state)
		} else {
			for _, r := range cur.Replicas {
				if r != srv.ID {
					replicas = append(replicas, r)
				}
			}
			if len(replicas) == 0 {
				return nil // its only listed copy: keep the entry, the file is lost until a copy returns
			}
		}
		_, err := s.c.Propose(ctx, fsm.DFSSetReplicasRequestType, &files.SetReplicasRequest{ID: cur.ID, Version: cur.Version, Replicas: replicas})
		if errors.Is(err, fsm.ErrStaleVersion) || errors.Is(err, fsm.ErrFileNotFound) {
			return nil
		}
		return err
	}
	return nil
}
