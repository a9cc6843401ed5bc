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
// the server with the fewest files, the backups the next servers after it
// on the ring, wrapping, r in all or as many as there are. Ties on files
// go to the server whose backups hold the fewest files, then to the
// fewest bytes, then to ring order. (Without the backups' tie-break, a
// tie settled by bytes could put a backup on the fullest server, and the
// servers' counts drift two or more apart.) It never names a server twice.
// Pure: the leader calls it with the index's counts plus what it handed
// out and is not yet committed.
func Place(live []Candidate, r int) []string {
	if len(live) == 0 || r <= 0 {
		return nil
	}
	ring := slices.Clone(live)
	slices.SortFunc(ring, func(a, b Candidate) int { return cmp.Compare(a.Ring, b.Ring) })
	n := min(r, len(ring))
	backups := func(i int) int64 {
		var sum int64
		for k := 1; k < n; k++ {
			sum += ring[(i+k)%len(ring)].Files
		}
		return sum
	}
	primary := 0
	for i, c := range ring {
		p := ring[primary]
		if c := cmp.Or(cmp.Compare(c.Files, p.Files), cmp.Compare(backups(i), backups(primary)), cmp.Compare(c.Bytes, p.Bytes)); c < 0 {
			primary = i
		}
	}
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
