package directory

import (
	"cmp"
	"slices"
)

// Candidate is a live file server as placement sees it.
type Candidate struct {
	ID    string
	Ring  uint64
	Files int64
	Bytes int64
}

// Place chooses a new file's replicas among live servers: the primary is
// the server with the fewest files (ties: fewest bytes, then ring order),
// the backups the next servers after it on the ring, wrapping, r in all or
// as many as there are. It never names a server twice. Pure: the leader
// calls it with the index's counts plus what it handed out and is not yet
// committed.
func Place(live []Candidate, r int) []string {
	if len(live) == 0 || r <= 0 {
		return nil
	}
	ring := slices.Clone(live)
	slices.SortFunc(ring, func(a, b Candidate) int { return cmp.Compare(a.Ring, b.Ring) })
	primary := 0
	for i, c := range ring {
		p := ring[primary]
		if c.Files < p.Files || (c.Files == p.Files && c.Bytes < p.Bytes) {
			primary = i
		}
	}
	n := min(r, len(ring))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, ring[(primary+i)%len(ring)].ID)
	}
	return out
}

// Successor returns the server after id on the ring formed by ids in ring
// order (wrapping), or "" when id is not among them or alone.
func Successor(ringOrder []string, id string) string {
	i := slices.Index(ringOrder, id)
	if i < 0 || len(ringOrder) < 2 {
		return ""
	}
	return ringOrder[(i+1)%len(ringOrder)]
}
