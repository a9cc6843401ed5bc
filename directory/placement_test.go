package directory

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/custodes/custodes/fsm/fileservers"
)

func TestPlace(t *testing.T) {
	three := []Candidate{{ID: "a", Ring: 1}, {ID: "b", Ring: 2}, {ID: "c", Ring: 3}}
	tests := []struct {
		name string
		live []Candidate
		r    int
		want []string
	}{
		{"none live", nil, 2, nil},
		{"empty ring: first by ring order, backup its successor", three, 2, []string{"a", "b"}},
		{"fewest files wins", []Candidate{{ID: "a", Ring: 1, Files: 2}, {ID: "b", Ring: 2, Files: 1}, {ID: "c", Ring: 3, Files: 2}}, 2, []string{"b", "c"}},
		{"the last on the ring wraps to the first", []Candidate{{ID: "a", Ring: 1, Files: 1}, {ID: "b", Ring: 2, Files: 1}, {ID: "c", Ring: 3}}, 2, []string{"c", "a"}},
		{"ties on files: fewest bytes", []Candidate{{ID: "a", Ring: 1, Files: 1, Bytes: 9}, {ID: "b", Ring: 2, Files: 1, Bytes: 3}}, 1, []string{"b"}},
		{"ties on files: the one whose backup has fewer files, whatever the bytes", []Candidate{{ID: "a", Ring: 1, Files: 2, Bytes: 9}, {ID: "b", Ring: 2, Files: 1, Bytes: 3}, {ID: "c", Ring: 3, Files: 1, Bytes: 1}}, 2, []string{"b", "c"}},
		{"ties on both: ring order", []Candidate{{ID: "b", Ring: 2, Files: 1, Bytes: 3}, {ID: "a", Ring: 1, Files: 1, Bytes: 3}}, 1, []string{"a"}},
		{"fewer live than R: as many as there are", []Candidate{{ID: "a", Ring: 4}}, 3, []string{"a"}},
		{"R=3 of four", []Candidate{{ID: "a", Ring: 1, Files: 5}, {ID: "b", Ring: 2, Files: 5}, {ID: "c", Ring: 3, Files: 4}, {ID: "d", Ring: 4, Files: 5}}, 3, []string{"c", "d", "a"}},
		{"a dead server's gap is skipped: the ring is the live ones", []Candidate{{ID: "a", Ring: 1, Files: 3}, {ID: "c", Ring: 3}}, 2, []string{"c", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Place(tt.live, tt.r)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Place = %v, want %v", got, tt.want)
			}
		})
	}
}

// Files of equal and of random sizes: after every write the servers'
// counts differ by at most one.
func TestPlaceSpreadsFilesEvenly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		live := []Candidate{{ID: "a", Ring: 1}, {ID: "b", Ring: 2}, {ID: "c", Ring: 3}}
		for i := 0; i < 30; i++ {
			got := Place(live, 2)
			if len(got) != 2 || got[0] == got[1] {
				t.Fatalf("write %d: replicas %v", i, got)
			}
			size := int64(4096)
			if trial > 0 {
				size = rng.Int64N(20000) + 1
			}
			for j := range live {
				if slices.Contains(got, live[j].ID) {
					live[j].Files++
					live[j].Bytes += size
				}
			}
			lo, hi := live[0].Files, live[0].Files
			for _, c := range live {
				lo, hi = min(lo, c.Files), max(hi, c.Files)
			}
			if hi-lo > 1 {
				t.Fatalf("trial %d, write %d: copies per server differ by %d: %+v", trial, i, hi-lo, live)
			}
		}
	}
}

func TestSuccessor(t *testing.T) {
	ring := []string{"a", "b", "c"}
	for _, tt := range []struct{ id, want string }{{"a", "b"}, {"c", "a"}, {"x", ""}} {
		if got := Successor(ring, tt.id); got != tt.want {
			t.Errorf("Successor(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	if got := Successor([]string{"a"}, "a"); got != "" {
		t.Errorf("alone: %q", got)
	}
}

func TestPlaceable(t *testing.T) {
	servers := []fileservers.Server{
		{ID: "a", State: fileservers.StateAlive}, {ID: "b", State: fileservers.StateAlive},
		{ID: "c", State: fileservers.StateDead}, {ID: "d", State: fileservers.StateDraining},
	}
	ids := func(ss []fileservers.Server) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		gossip map[string]bool
		want   []string
	}{
		{"alive in both", map[string]bool{"a": true, "b": true, "c": true, "d": true}, []string{"a", "b"}},
		{"gossip doubts one: the other alone", map[string]bool{"b": true}, []string{"b"}},
		{"gossip doubts every one: the index's alive ones", map[string]bool{"c": true, "d": true}, []string{"a", "b"}},
		{"gossip knows none", nil, []string{"a", "b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(placeable(servers, tt.gossip)); !slices.Equal(got, tt.want) {
				t.Fatalf("placeable = %v, want %v", got, tt.want)
			}
		})
	}
	if got := placeable([]fileservers.Server{{ID: "c", State: fileservers.StateDead}}, nil); len(got) != 0 {
		t.Fatalf("a dead server is placeable: %v", got)
	}
}
