package health

import (
	"fmt"
	"testing"
)

func TestOwnerIsDeterministicAndUnique(t *testing.T) {
	agents := []string{"a", "b", "c"}
	counts := map[string]int{}
	for i := range 3000 {
		id := fmt.Sprintf("inst-%d", i)
		o := Owner(agents, id)
		if o != Owner([]string{"c", "a", "b"}, id) {
			t.Fatalf("owner of %s depends on the order of agents", id)
		}
		counts[o]++
	}
	for _, a := range agents {
		// Rendezvous hashing spreads evenly: each gets about a third.
		if counts[a] < 800 || counts[a] > 1200 {
			t.Fatalf("uneven spread: %v", counts)
		}
	}
}

func TestOwnerMovesOnlyTheLeaversInstances(t *testing.T) {
	before := []string{"a", "b", "c", "d"}
	after := []string{"a", "b", "d"}
	for i := range 2000 {
		id := fmt.Sprintf("inst-%d", i)
		was, is := Owner(before, id), Owner(after, id)
		if was != "c" && was != is {
			t.Fatalf("%s moved from %s to %s though %s is still alive", id, was, is, was)
		}
		if was == "c" && is == "c" {
			t.Fatalf("%s still owned by the departed agent", id)
		}
	}
}

func TestOwnerEdgeCases(t *testing.T) {
	tests := []struct {
		agents []string
		want   string
	}{
		{nil, ""},
		{[]string{"only"}, "only"},
	}
	for _, tc := range tests {
		if got := Owner(tc.agents, "x"); got != tc.want {
			t.Errorf("Owner(%v) = %q, want %q", tc.agents, got, tc.want)
		}
	}
}
