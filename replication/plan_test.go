package replication

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// ring returns servers s1..sN (ring 1..N), alive but for the states given.
func ring(n int, states map[string]string) []Server {
	out := make([]Server, n)
	for i := range out {
		id := fmt.Sprint("s", i+1)
		st := states[id]
		if st == "" {
			st = StateAlive
		}
		out[i] = Server{ID: id, Address: fmt.Sprint("h:", i+1), State: st, Ring: uint64(i + 1)}
	}
	return out
}

func file(id string, want int, replicas ...string) File {
	return File{ID: id, Version: 3, Size: 10, SHA256: "abc", Replicas: replicas, Want: want}
}

// short renders a plan as "file:source>target".
func short(plan []Copy) []string {
	var out []string
	for _, c := range plan {
		out = append(out, c.File+":"+c.Source+">"+c.Target)
	}
	return out
}

func TestPlan(t *testing.T) {
	dead, draining, left := StateDead, StateDraining, StateLeft
	cases := []struct {
		name    string
		servers []Server
		files   []File
		lim     Limits
		want    []string
	}{
		{name: "healthy: nothing", servers: ring(3, nil), files: []File{file("a", 2, "s1", "s2")}},
		{name: "a primary dies (index reordered: s2 first)", servers: ring(4, map[string]string{"s1": dead}),
			files: []File{file("a", 2, "s2", "s1")}, want: []string{"a:s2>s3"}},
		{name: "a backup dies", servers: ring(4, map[string]string{"s2": dead}),
			files: []File{file("a", 2, "s1", "s2")}, want: []string{"a:s1>s3"}},
		{name: "two ring neighbours die", servers: ring(5, map[string]string{"s2": dead, "s3": dead}),
			files: []File{file("a", 3, "s1", "s2", "s3"), file("b", 2, "s3", "s4"), file("c", 2, "s4", "s5")},
			want:  []string{"a:s1>s4", "a:s1>s5", "b:s4>s5"}},
		{name: "a server that backs up and is backed up dies", servers: ring(4, map[string]string{"s2": dead}),
			files: []File{file("a", 2, "s1", "s2"), file("b", 2, "s3", "s2")},
			want:  []string{"a:s1>s3", "b:s3>s4"}},
		{name: "one server left: nothing possible", servers: ring(3, map[string]string{"s2": dead, "s3": left}),
			files: []File{file("a", 2, "s1", "s2"), file("b", 3, "s1", "s3")}},
		{name: "R=3 from one copy", servers: ring(4, nil),
			files: []File{file("a", 3, "s2")}, want: []string{"a:s2>s3", "a:s2>s4"}},
		{name: "R=3 wraps the ring", servers: ring(4, nil),
			files: []File{file("a", 3, "s4", "s1")}, want: []string{"a:s4>s2"}},
		{name: "draining: its copy is a source, not a live copy, never a target", servers: ring(4, map[string]string{"s2": draining}),
			files: []File{file("a", 2, "s1", "s2"), file("b", 1, "s2"), file("c", 2, "s1")},
			want:  []string{"b:s2>s3", "a:s1>s3", "c:s1>s3"}},
		{name: "lost: no source", servers: ring(3, map[string]string{"s1": dead, "s2": left}),
			files: []File{file("a", 2, "s1", "s2")}},
		{name: "unknown servers are neither sources nor targets", servers: ring(3, nil),
			files: []File{file("a", 2, "s9", "s2")}, want: []string{"a:s2>s3"}},
		{name: "concurrency: the source's limit", servers: ring(5, map[string]string{"s2": dead}), lim: Limits{PerServer: 1},
			files: []File{file("a", 2, "s1", "s2"), file("b", 2, "s1", "s2")}, want: []string{"a:s1>s3"}},
		{name: "concurrency: targets at their limit are skipped", servers: ring(5, nil),
			lim:   Limits{PerServer: 1, InFlight: map[string]int{"s2": 1}},
			files: []File{file("a", 2, "s1"), file("b", 2, "s4"), file("c", 2, "s3")}, want: []string{"a:s1>s3", "b:s4>s5"}},
		{name: "concurrency: a second source when the primary is busy", servers: ring(5, nil),
			lim:   Limits{PerServer: 1, InFlight: map[string]int{"s1": 1}},
			files: []File{file("a", 3, "s1", "s2")}, want: []string{"a:s2>s3"}},
		{name: "concurrency: in flight as source counts", servers: ring(4, nil),
			lim:   Limits{PerServer: 2, InFlight: map[string]int{"s1": 1}},
			files: []File{file("a", 2, "s1"), file("b", 2, "s1"), file("c", 2, "s1")}, want: []string{"a:s1>s2"}},
		{name: "priority: one live copy before two, then by id", servers: ring(6, nil), lim: Limits{PerServer: 1},
			files: []File{file("a", 3, "s1", "s2"), file("c", 2, "s3"), file("b", 2, "s5")},
			want:  []string{"b:s5>s6", "c:s3>s4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.servers, tc.files, tc.lim)
			if s := short(got); !reflect.DeepEqual(s, tc.want) && len(s)+len(tc.want) > 0 {
				t.Fatalf("plan %v, want %v", s, tc.want)
			}
			checkPlan(t, tc.servers, tc.files, tc.lim, got)
		})
	}
}

// checkPlan checks the rules any plan keeps.
func checkPlan(t *testing.T, servers []Server, files []File, lim Limits, plan []Copy) {
	t.Helper()
	state := map[string]string{}
	for _, s := range servers {
		state[s.ID] = s.State
	}
	byID := map[string]File{}
	for _, f := range files {
		byID[f.ID] = f
	}
	busy := map[string]int{}
	for id, n := range lim.InFlight {
		busy[id] = n
	}
	targets := map[string][]string{}
	for _, c := range plan {
		f := byID[c.File]
		if c.Version != f.Version || c.Size != f.Size || c.SHA256 != f.SHA256 {
			t.Errorf("%+v does not describe %+v", c, f)
		}
		if !slices.Contains(f.Replicas, c.Source) || !readable(state[c.Source]) {
			t.Errorf("%+v: the source holds no readable replica", c)
		}
		if state[c.Target] != StateAlive || slices.Contains(f.Replicas, c.Target) || slices.Contains(targets[c.File], c.Target) {
			t.Errorf("%+v: the target is not alive, holds a replica or is planned twice", c)
		}
		targets[c.File] = append(targets[c.File], c.Target)
		busy[c.Source]++
		busy[c.Target]++
		if lim.PerServer > 0 && (busy[c.Source] > lim.PerServer || busy[c.Target] > lim.PerServer) {
			t.Errorf("%+v: over the limit %d", c, lim.PerServer)
		}
	}
}

func TestPlanDeterministicAndWithinRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	states := []string{StateAlive, StateAlive, StateAlive, StateDraining, StateDead, StateLeft}
	for round := range 50 {
		servers := make([]Server, 3+rng.IntN(8))
		for i := range servers {
			servers[i] = Server{ID: fmt.Sprint("s", i), State: states[rng.IntN(len(states))], Ring: uint64(i + 1)}
		}
		var files []File
		for i := range 40 {
			perm := rng.Perm(len(servers))
			var reps []string
			for _, k := range perm[:1+rng.IntN(min(3, len(servers)))] {
				reps = append(reps, servers[k].ID)
			}
			files = append(files, File{ID: fmt.Sprintf("f%03d", i), Version: 1, Replicas: reps, Want: 1 + rng.IntN(3)})
		}
		lim := Limits{PerServer: rng.IntN(4), InFlight: map[string]int{servers[0].ID: rng.IntN(2)}}
		plan := Plan(servers, files, lim)
		checkPlan(t, servers, files, lim, plan)
		// The same input in another order plans the same.
		s2, f2 := slices.Clone(servers), slices.Clone(files)
		rng.Shuffle(len(s2), func(i, j int) { s2[i], s2[j] = s2[j], s2[i] })
		rng.Shuffle(len(f2), func(i, j int) { f2[i], f2[j] = f2[j], f2[i] })
		if again := Plan(s2, f2, lim); !reflect.DeepEqual(again, plan) {
			t.Fatalf("round %d: plans differ\n%v\n%v", round, short(plan), short(again))
		}
		// No file gets more than it needs.
		count := map[string]int{}
		for _, c := range plan {
			count[c.File]++
		}
		byID := map[string]Server{}
		for _, s := range servers {
			byID[s.ID] = s
		}
		for _, f := range files {
			if need := f.Want - liveCopies(byID, f); count[f.ID] > max(need, 0) {
				t.Fatalf("round %d: %s planned %d, needs %d", round, f.ID, count[f.ID], need)
			}
		}
	}
}

func TestLost(t *testing.T) {
	servers := ring(4, map[string]string{"s1": StateDead, "s2": StateLeft, "s3": StateDraining})
	files := []File{file("c", 1, "s1"), file("a", 2, "s1", "s2"), file("b", 2, "s3", "s1"), file("d", 1, "s9"), file("e", 1, "s4")}
	if got := Lost(servers, files); !reflect.DeepEqual(got, []string{"a", "c", "d"}) {
		t.Fatalf("lost %v", got)
	}
}
