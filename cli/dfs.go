package cli

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// dfsView is /admin/dfs: the index's view of the file servers and the
// leader's replication sweep.
type dfsView struct {
	Servers         []dfsServer `json:"servers"`
	Files           int64       `json:"files"`
	Bytes           int64       `json:"bytes"`
	UnderReplicated int64       `json:"under_replicated"`
	Queue           int64       `json:"replication_queue"`
	Lost            int64       `json:"lost"`
	Replicas        int         `json:"replicas"`
	InFlight        int         `json:"in_flight"`
	LastSweep       *struct {
		At     time.Time `json:"at"`
		Copied int       `json:"copied"`
		Failed int       `json:"failed"`
		TookMS int64     `json:"took_ms"`
	} `json:"last_sweep"`
	Sweeps     uint64 `json:"sweeps"`
	Copied     uint64 `json:"copied"`
	Failed     uint64 `json:"failed"`
	SweepError string `json:"sweep_error"`
}

type dfsServer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	State   string `json:"state"`
	Gossip  string `json:"gossip"`
	Ring    uint64 `json:"ring"`
	Files   int64  `json:"files"`
	Bytes   int64  `json:"bytes"`
}

func runDFS(inv *invocation, args []string) error {
	if len(args) > 0 && args[0] == "drain" {
		return dfsDrain(inv, args[1:])
	}
	f := inv.newFlags("dfs", "[flags] | drain SERVER",
		"Show the file system: totals, the replication queue and lost files, the leader's sweep, and the file\n"+
			"servers in ring order with their state, files and bytes.")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var v dfsView
	if done, err := f.get(inv, "/admin/dfs", nil, &v); done || err != nil {
		return err
	}
	return writeDFS(inv.stdout, v, time.Now())
}

func writeDFS(w io.Writer, v dfsView, now time.Time) error {
	fmt.Fprintf(w, "files %d (%s), %d copies wanted of each\n", v.Files, humanBytes(v.Bytes), v.Replicas)
	fmt.Fprintf(w, "under-replicated %d, replication queue %d, lost %d, copies in flight %d\n", v.UnderReplicated, v.Queue, v.Lost, v.InFlight)
	sweep := fmt.Sprintf("sweeps %d, copied %d, failed %d", v.Sweeps, v.Copied, v.Failed)
	if s := v.LastSweep; s != nil {
		sweep += fmt.Sprintf("; last sweep %s (copied %d, failed %d, took %dms)", ago(s.At, now), s.Copied, s.Failed, s.TookMS)
	}
	if v.SweepError != "" {
		sweep += "; the leader's sweep could not be asked: " + v.SweepError
	}
	fmt.Fprintln(w, sweep)
	fmt.Fprintln(w)
	servers := v.Servers
	sort.Slice(servers, func(i, j int) bool { return servers[i].Ring < servers[j].Ring })
	rows := make([][]string, len(servers))
	for i, s := range servers {
		rows[i] = []string{strconv.FormatUint(s.Ring, 10), s.ID, s.Address, s.State, orDash(s.Gossip), strconv.FormatInt(s.Files, 10), humanBytes(s.Bytes)}
	}
	return writeTable(w, []string{"RING", "SERVER", "ADDRESS", "STATE", "GOSSIP", "FILES", "BYTES"}, rows)
}

// dfsDrain marks a file server draining (POST /admin/dfs/drain): the
// leader's sweep copies its files elsewhere, then it is marked left.
// `custodes fileserver leave` does the same and waits for the end.
func dfsDrain(inv *invocation, args []string) error {
	f := inv.newFlags("dfs drain", "[flags] SERVER",
		"Drain a file server: no new file is placed on it, the leader's sweep makes its copies elsewhere,\n"+
			"then marks it left (custodes dfs shows the progress; custodes fileserver leave waits for it).")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	var srv struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Files int64  `json:"files"`
	}
	if done, err := f.send(inv, http.MethodPost, "/admin/dfs/drain", nil, map[string]string{"server": ops[0]}, &srv); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "%s is %s: %d files to copy elsewhere\n", srv.ID, srv.State, srv.Files)
	return nil
}
