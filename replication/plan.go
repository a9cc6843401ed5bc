package replication

import (
	"cmp"
	"slices"
	"strings"
)

// Server states as the index names them (fsm/fileservers).
const (
	StateAlive    = "alive"
	StateDraining = "draining"
	StateDead     = "dead"
	StateLeft     = "left"
)

// Server is a file server as the planner sees it.
type Server struct {
	ID, Address, State string
	// Ring is the server's position on the ring (order of registration).
	Ring uint64
}

// File is a file as the planner sees it: Replicas in the index's order,
// the primary (the first alive replica) first.
type File struct {
	ID       string
	Version  uint64
	Size     int64
	SHA256   string
	Replicas []string
	Want     int
}

// Copy is one copy to make: Source streams File's Version to Target.
type Copy struct {
	File    string
	Version uint64
	Size    int64
	SHA256  string
	Source  string
	Target  string
}

// Limits bound the copies per server.
type Limits struct {
	// PerServer is the most copies a server takes part in at once, as
	// source or as target (--replication-concurrency); 0 or less is no
	// limit.
	PerServer int
	// InFlight counts the copies already under way per server id (as
	// source or target).
	InFlight map[string]int
}

// readable reports whether copies on a server in state can be read (and
// so be a copy's source): alive or draining.
func readable(state string) bool { return state == StateAlive || state == StateDraining }

// liveCopies counts f's replicas on alive servers: only those count
// toward Want (a draining server's copy is readable but on its way out).
func liveCopies(byID map[string]Server, f File) int {
	n := 0
	for _, id := range f.Replicas {
		if s, ok := byID[id]; ok && s.State == StateAlive {
			n++
		}
	}
	return n
}

// Plan returns the copies to make now, in the order planned:
//
//   - a file needs Want minus its live copies (replicas on alive
//     servers); files with fewer live copies come first, then by id;
//   - sources are its replicas on alive or draining servers, the primary
//     first; a file with none is lost and gets nothing;
//   - targets are found walking the ring (servers by Ring) from the
//     server after the file's primary (its first replica on the ring),
//     wrapping, skipping servers that hold a replica in any state, that
//     are not alive, or that have PerServer copies in flight, counting
//     those planned in this call, as source and as target;
//   - a file never gets two copies on one server, and one target at most
//     one copy of a file.
//
// A file that finds no source or no target under the limits gets fewer
// copies (or none) now; the next sweep plans again.
func Plan(servers []Server, files []File, lim Limits) []Copy {
	ring := slices.Clone(servers)
	slices.SortStableFunc(ring, func(a, b Server) int {
		return cmp.Or(cmp.Compare(a.Ring, b.Ring), strings.Compare(a.ID, b.ID))
	})
	byID := make(map[string]Server, len(ring))
	pos := make(map[string]int, len(ring))
	for i, s := range ring {
		byID[s.ID] = s
		pos[s.ID] = i
	}

	type job struct {
		file File
		live int
	}
	var jobs []job
	for _, f := range files {
		if live := liveCopies(byID, f); live < f.Want {
			jobs = append(jobs, job{f, live})
		}
	}
	slices.SortFunc(jobs, func(a, b job) int {
		return cmp.Or(cmp.Compare(a.live, b.live), strings.Compare(a.file.ID, b.file.ID), cmp.Compare(a.file.Version, b.file.Version))
	})

	busy := make(map[string]int, len(lim.InFlight))
	for id, n := range lim.InFlight {
		busy[id] = n
	}
	free := func(id string) bool { return lim.PerServer <= 0 || busy[id] < lim.PerServer }

	var out []Copy
	for _, j := range jobs {
		f := j.file
		var sources []string
		start := -1
		for _, id := range f.Replicas {
			s, ok := byID[id]
			if !ok {
				continue
			}
			if start < 0 {
				start = pos[id] // the primary: the first replica on the ring
			}
			if readable(s.State) {
				sources = append(sources, id)
			}
		}
		if len(sources) == 0 {
			continue // lost: nothing to copy from
		}
		need := f.Want - j.live
		for k := 1; k <= len(ring) && need > 0; k++ {
			t := ring[(start+k)%len(ring)]
			if t.State != StateAlive || slices.Contains(f.Replicas, t.ID) || !free(t.ID) {
				continue
			}
			src := ""
			for _, id := range sources {
				if free(id) {
					src = id
					break
				}
			}
			if src == "" {
				break // every source is at its limit
			}
			busy[src]++
			busy[t.ID]++
			out = append(out, Copy{File: f.ID, Version: f.Version, Size: f.Size, SHA256: f.SHA256, Source: src, Target: t.ID})
			need--
		}
	}
	return out
}

// Lost returns the ids of the files with no replica on an alive or
// draining server (no copy to make a new one from), ordered by id.
func Lost(servers []Server, files []File) []string {
	state := make(map[string]string, len(servers))
	for _, s := range servers {
		state[s.ID] = s.State
	}
	var out []string
	for _, f := range files {
		if !slices.ContainsFunc(f.Replicas, func(id string) bool { return readable(state[id]) }) {
			out = append(out, f.ID)
		}
	}
	slices.Sort(out)
	return out
}
