package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestVotersToRemove(t *testing.T) {
	now := time.Unix(1000, 0)
	timeout := 5 * time.Minute
	dead := func(ids string, ago ...time.Duration) []deadVoter {
		var out []deadVoter
		for i, c := range ids {
			out = append(out, deadVoter{id: raft.ServerID(string(c)), since: now.Add(-ago[i])})
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		voters       int
		dead         []deadVoter
		replacements int
		minQuorum    int
		want         string
		held         bool
	}{
		{"none dead", 3, nil, 0, 3, "", false},
		{"fresh death, no replacement: wait", 3, dead("a", time.Second), 0, 1, "", false},
		{"fresh death, replaced: go", 3, dead("a", time.Second), 1, 1, "a", false},
		{"dead past the timeout: go", 3, dead("a", timeout), 0, 1, "a", false},
		{"min-quorum 3 keeps the third voter", 3, dead("a", timeout), 1, 3, "", true},
		{"5 voters, 2 dead and replaced: both (budget 2)", 5, dead("ab", 2*time.Second, time.Second), 2, 3, "ab", false},
		{"5 voters, 3 dead past timeout: budget 2", 5, dead("abc", 3*timeout, 2*timeout, timeout), 0, 1, "ab", true},
		{"min-quorum stops after one of 4", 4, dead("ab", timeout, timeout), 0, 3, "a", true},
		{"one replacement covers the oldest only", 5, dead("ab", 2*time.Second, time.Second), 1, 3, "a", false},
		{"a younger death past nothing waits, the older timed out goes", 5, dead("ab", timeout, time.Second), 0, 3, "a", false},
		{"2 voters: budget 0", 2, dead("a", timeout), 1, 1, "", true},
		{"1 voter: nothing", 1, dead("a", timeout), 1, 1, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, held := votersToRemove(tc.voters, tc.dead, tc.replacements, now, tc.minQuorum, timeout)
			var got string
			for _, id := range ids {
				got += string(id)
			}
			if got != tc.want || held != tc.held {
				t.Fatalf("got %q held=%v, want %q held=%v", got, held, tc.want, tc.held)
			}
			// Never below quorum of the remaining, never over budget.
			if len(ids) > (tc.voters-1)/2 || (len(ids) > 0 && tc.voters-len(ids) < tc.minQuorum) {
				t.Fatalf("removes %d of %d voters (min-quorum %d)", len(ids), tc.voters, tc.minQuorum)
			}
			if !slices.IsSortedFunc(ids, func(a, b raft.ServerID) int { return slices.Index(idsOf(tc.dead), a) - slices.Index(idsOf(tc.dead), b) }) {
				t.Fatalf("removal order %v is not the order of death", ids)
			}
		})
	}
}

func idsOf(d []deadVoter) []raft.ServerID {
	var out []raft.ServerID
	for _, v := range d {
		out = append(out, v.id)
	}
	return out
}
