package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/google/uuid"
)

// opPlace is the leader operation that decides where a new file goes.
const opPlace = "dfs-place"

// placeArg is dfs-place's argument.
type placeArg struct {
	Size int64 `json:"size"`
}

// Replica names a file server and where to reach it.
type Replica struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// placement is dfs-place's answer: the new file's id and its replicas,
// primary first.
type placement struct {
	File     string    `json:"file"`
	Replicas []Replica `json:"replicas"`
}

// pendingPlacement is a placement handed out and not yet committed.
type pendingPlacement struct {
	replicas []string
	size     int64
	at       time.Time
}

// place asks the leader for a new file's id and replicas.
func (d *Directory) place(ctx context.Context, size int64) (placement, error) {
	arg, _ := json.Marshal(placeArg{Size: size})
	out, _, err := d.cluster.CallLeader(ctx, opPlace, arg)
	if err != nil {
		return placement{}, err
	}
	var p placement
	if err := json.Unmarshal(out, &p); err != nil {
		return placement{}, fmt.Errorf("dfs-place answer: %w", err)
	}
	if len(p.Replicas) == 0 {
		return placement{}, ErrNoFileServer
	}
	return p, nil
}

// placeOp runs on the leader: the id is drawn and the replicas chosen
// here, before anything is proposed, so Apply stays deterministic.
func (d *Directory) placeOp(ctx context.Context, arg []byte) ([]byte, error) {
	var a placeArg
	if err := json.Unmarshal(arg, &a); err != nil || a.Size < 0 {
		return nil, fmt.Errorf("dfs-place: bad argument")
	}
	live := d.liveServers()
	if len(live) == 0 {
		// An empty placement, not an error: the asking agent turns it
		// into ErrNoFileServer (an error would not keep its sentinel
		// across the wire).
		return json.Marshal(placement{})
	}
	now := time.Now()
	d.pendingMu.Lock()
	defer d.pendingMu.Unlock()
	f := d.cluster.FSM()
	d.forgetCommitted(f)
	counts := map[string]*Candidate{}
	cands := make([]Candidate, 0, len(live))
	for _, s := range live {
		cands = append(cands, Candidate{ID: s.ID, Ring: s.Ring, Files: int64(s.Files), Bytes: s.Bytes})
	}
	for i := range cands {
		counts[cands[i].ID] = &cands[i]
	}
	for id, p := range d.pending {
		if now.Sub(p.at) > d.cfg.PendingTTL {
			delete(d.pending, id)
			continue
		}
		if _, ok := f.File(id); ok {
			delete(d.pending, id) // committed: the index counts it now
			continue
		}
		for _, r := range p.replicas {
			if c := counts[r]; c != nil {
				c.Files++
				c.Bytes += p.size
			}
		}
	}
	ids := Place(cands, d.cfg.Replicas)
	p := placement{File: uuid.NewString()}
	addr := map[string]string{}
	for _, s := range live {
		addr[s.ID] = s.Address
	}
	for _, id := range ids {
		p.Replicas = append(p.Replicas, Replica{ID: id, Address: addr[id]})
	}
	d.pending[p.File] = pendingPlacement{replicas: ids, size: a.Size, at: now}
	return json.Marshal(p)
}

// forgetCommitted drops the placements whose file the index created
// since the last call (or deleted: a file created and deleted between two
// placements is not in the index any more, but must not count as
// pending either), from the FSM's event ring. Events the ring no longer
// holds are covered by PendingTTL.
func (d *Directory) forgetCommitted(f *fsm.FSM) {
	events, _, _ := f.Events(d.seenEvents)
	for _, e := range events {
		d.seenEvents = max(d.seenEvents, e.Index)
		if e.Type == fsm.EventFile {
			delete(d.pending, strings.TrimPrefix(e.Key, fsm.FileWatchKey("")))
		}
	}
}

// liveServers are the servers a new file may be placed on (placeable).
func (d *Directory) liveServers() []fileservers.Server {
	return placeable(d.cluster.FSM().Servers(), d.gossipAlive())
}

// placeable returns the servers in state alive that gossip also reports
// alive; when gossip reports none of them alive, the servers in state
// alive. Gossip's view is a hint: a loaded leader's memberlist can miss
// every probe for a second and call every file server dead, while the
// index's state is the sweep's verdict, confirmed by its own probes.
// With none placeable the write would be refused outright; placed on
// doubted servers, it keeps the copies that succeed (one to a server
// that is in fact gone fails alone, within the dial timeout). While some
// servers are beyond doubt only they are used, so a server gossip has
// just seen die slows no write down.
func placeable(servers []fileservers.Server, gossipAlive map[string]bool) []fileservers.Server {
	var sure, alive []fileservers.Server
	for _, s := range servers {
		if s.State != fileservers.StateAlive {
			continue
		}
		alive = append(alive, s)
		if gossipAlive[s.ID] {
			sure = append(sure, s)
		}
	}
	if len(sure) == 0 {
		return alive
	}
	return sure
}

// gossipAlive is the set of file servers gossip reports alive.
func (d *Directory) gossipAlive() map[string]bool {
	alive := map[string]bool{}
	for _, m := range d.cluster.Members() {
		if m.Role == gossip.RoleFile && m.State == gossip.StateAlive {
			alive[m.Name] = true
		}
	}
	return alive
}
