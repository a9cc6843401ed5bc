package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// A diverged agent holds a state the cluster never committed. It happens
// one way: a leader restored an operator's snapshot (raft.Restore installs
// it in the leader's state machine first, at an index past its log's end)
// and lost leadership before a quorum took it. The others elect a leader
// that never had it; the old leader keeps the restored state, and Raft
// cannot repair it: its log has a hole where the restore claimed indexes,
// so it refuses every entry the new leader sends, and applies none.
//
// The agent notices as a follower: what it has applied is ahead of the
// read index the leader gives it afterwards (a follower can never have
// applied more than the leader had; the restore put it restoreGap ahead).
// It then refuses reads (ErrDiverged), asks the leader to demote it to a
// non-voter (OpResync: the leader checks the claim itself), writes a
// marker in its data directory and asks to be restarted (Resync). On the
// next start the marker makes it discard its Raft log and snapshots,
// keeping its term and vote; it comes back empty, as a non-voter, takes
// the leader's snapshot, and reconciliation promotes it once caught up.

// ErrDiverged: this agent's state is not the cluster's (see above).
var ErrDiverged = errors.New("this agent's state diverged from the cluster's (a restore it installed as leader was not committed): it is resynchronising from the leader; ask another agent")

// OpResync is the leader operation a diverged agent calls to be demoted.
const OpResync = "resync"

// divergenceSlack is how far a follower's applied index may be ahead of a
// read index it obtained afterwards before it is taken as diverged. A
// healthy follower can be a little ahead: entries the leader committed
// while the request travelled, applied here before the leader's own state
// machine got to them. A diverged one is restoreGap ahead.
const divergenceSlack = restoreGap / 2

// resyncMarker is the file, in the data directory, that makes the next
// start discard the Raft log and snapshots.
const resyncMarker = "resync.json"

// Resync is closed when this agent, diverged and demoted, needs to be
// restarted to resynchronise (the marker is written).
func (n *Node) Resync() <-chan struct{} { return n.resyncCh }

// Diverged reports whether this agent found its state diverged.
func (n *Node) Diverged() bool { return n.diverged.Load() }

// checkReadIndex compares what this follower had applied before asking
// the leader for a read index with that index.
func (n *Node) checkReadIndex(before, index uint64) error {
	if !aheadOf(before, index) {
		return nil
	}
	if n.diverged.CompareAndSwap(false, true) {
		n.cfg.Logger.Error("this agent's state is ahead of the leader's: a snapshot restore it installed as leader was not committed; refusing reads and resynchronising",
			"applied", before, "leader_read_index", index)
		n.wg.Add(1)
		go n.resyncLoop(before, index)
	}
	return ErrDiverged
}

// divergenceLoop checks a follower's state against the leader's now and
// then, so that an agent nobody reads from resynchronises too.
func (n *Node) divergenceLoop() {
	defer n.wg.Done()
	t := time.NewTicker(max(n.cfg.ReconcileInterval, time.Second))
	defer t.Stop()
	for !n.diverged.Load() {
		select {
		case <-n.shutdownCh:
			return
		case <-t.C:
		}
		if n.IsLeader() {
			continue
		}
		before := n.fsm.AppliedIndex()
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.LeaderWait)
		index, err := n.readIndexRemote(ctx)
		cancel()
		if err == nil {
			_ = n.checkReadIndex(before, index)
		}
	}
}

// resyncRequest is OpResync's argument.
type resyncRequest struct {
	ID string `json:"id"`
}

// resyncLoop asks the leader to demote this agent until it does, then
// writes the marker and asks for a restart.
func (n *Node) resyncLoop(applied, index uint64) {
	defer n.wg.Done()
	arg, _ := json.Marshal(resyncRequest{ID: n.cfg.NodeID})
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.ApplyTimeout)
		_, _, err := n.CallLeader(ctx, OpResync, arg)
		cancel()
		if err == nil {
			break
		}
		n.cfg.Logger.Warn("diverged: the leader did not demote this agent yet; asking again", "error", err)
		select {
		case <-n.shutdownCh:
			return
		case <-time.After(time.Second):
		}
	}
	marker, _ := json.Marshal(map[string]any{"applied": applied, "leader_read_index": index, "at": time.Now().UTC()})
	if err := writeFileSync(filepath.Join(n.cfg.DataDir, resyncMarker), marker); err != nil {
		n.cfg.Logger.Error("diverged: cannot write the resync marker; stop this agent, remove its data directory's raft.db and snapshots, and start it again", "error", err)
		return
	}
	n.cfg.Logger.Error("diverged: demoted to non-voter; restart this agent to resynchronise from the leader (its Raft log and snapshots are discarded at the next start)")
	close(n.resyncCh)
}

// resyncOp is the leader's half: it demotes the named server to non-voter
// if, by the leader's own probe (never the caller's word), its state is
// ahead of the leader's by more than a healthy follower's can be.
func (n *Node) resyncOp(ctx context.Context, arg []byte) ([]byte, error) {
	var req resyncRequest
	dec := json.NewDecoder(bytes.NewReader(arg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() || req.ID == "" || len(req.ID) > 256 {
		return nil, fmt.Errorf("%w: resync: the argument is not {\"id\": ...} with an id of 1 to 256 bytes", fsm.ErrInvalid)
	}
	if !n.IsLeader() {
		return nil, ErrNotLeader
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(err)
	}
	var target *raft.Server
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == req.ID {
			target = &s
		}
	}
	if target == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPeer, req.ID)
	}
	mem, ok := n.gossip.Member(req.ID)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a gossip member", ErrUnknownPeer, req.ID)
	}
	st, ok := n.probeStatus(ctx, mem.HTTP)
	leaderApplied := n.fsm.AppliedIndex()
	if !ok || st.NodeID != req.ID {
		return nil, fmt.Errorf("%w: %s did not answer a status probe", ErrTimeout, req.ID)
	}
	if !aheadOf(st.FSMIndex, leaderApplied) {
		return nil, fmt.Errorf("%w: %s has applied %d, not ahead of the leader's %d: it has not diverged", ErrUnsafe, req.ID, st.FSMIndex, leaderApplied)
	}
	if target.Suffrage == raft.Voter {
		n.cfg.Logger.Warn("demoting a diverged server to non-voter", "id", req.ID, "its_applied", st.FSMIndex, "leader_applied", leaderApplied)
		if err := n.await(n.raft.DemoteVoter(target.ID, 0, n.cfg.ApplyTimeout), 2*n.cfg.ApplyTimeout); err != nil {
			return nil, err
		}
	}
	return []byte("{}"), nil
}

// aheadOf says whether a state at applied is ahead of the leader's, at
// leaderApplied, by more than a healthy follower's can be: diverged. The
// one test of it, for the follower's check, the leader's and
// reconciliation's (which never promotes such a server).
func aheadOf(applied, leaderApplied uint64) bool {
	return applied > leaderApplied+divergenceSlack
}

// discardIfResync runs before Raft starts: with the marker present, it
// deletes the Raft log and the snapshots, keeping the stable store (the
// term and the vote, so that this agent never votes twice in a term).
func discardIfResync(dataDir string, store *raftboltdb.BoltStore, logger *slog.Logger) error {
	path := filepath.Join(dataDir, resyncMarker)
	marker, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	first, err := store.FirstIndex()
	if err != nil {
		return err
	}
	last, err := store.LastIndex()
	if err != nil {
		return err
	}
	entries := uint64(0)
	if last > 0 {
		if err := store.DeleteRange(first, last); err != nil {
			return fmt.Errorf("discard the raft log: %w", err)
		}
		entries = last - first + 1
	}
	if err := os.RemoveAll(filepath.Join(dataDir, "snapshots")); err != nil {
		return fmt.Errorf("discard the snapshots: %w", err)
	}
	logger.Warn("resynchronising: discarded this agent's Raft log and snapshots (its state had diverged); it rejoins empty, as a non-voter, and takes the leader's snapshot",
		"log_entries", entries, "marker", string(marker))
	return os.Remove(path)
}

// writeFileSync writes a small file durably.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
