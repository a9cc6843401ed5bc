package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestPartitionedLeaderStopsAcknowledging partitions the leader from its
// peers while clients still reach it: it must stop acknowledging writes
// and linearizable reads, the majority must elect a new leader and keep
// serving, and after healing every agent must converge.
func TestPartitionedLeaderStopsAcknowledging(t *testing.T) {
	c := newNetCluster(t, 3)
	all := []int{1, 2, 3}
	var leader int
	waitFor(t, "a leader", 30*time.Second, func() bool { leader = c.leaderAmong(all...); return leader != 0 })
	for i := range 5 {
		if code, err := register(c.url(1+i%3), fmt.Sprintf("before-%d", i)); err != nil || code != http.StatusCreated {
			t.Fatalf("register before the partition: %d %v", code, err)
		}
	}
	var majority []int
	for _, i := range all {
		if i != leader {
			majority = append(majority, i)
		}
	}

	c.partition(leader)
	var newLeader int
	waitFor(t, "the majority to elect a new leader", 15*time.Second, func() bool {
		newLeader = c.leaderAmong(majority...)
		return newLeader != 0 && newLeader != leader
	})
	if code, err := register(c.url(majority[0]), "during-partition"); err != nil || code != http.StatusCreated {
		t.Fatalf("the majority must keep accepting writes: %d %v", code, err)
	}
	// The old leader is reachable but must not acknowledge.
	start := time.Now()
	code, err := register(c.url(leader), "on-the-minority")
	if err != nil {
		t.Fatalf("the partitioned agent must answer, not hang: %v", err)
	}
	if code == http.StatusCreated || code == http.StatusOK {
		t.Fatalf("the partitioned old leader acknowledged a write (%d)", code)
	}
	if code != http.StatusServiceUnavailable {
		t.Fatalf("write on the minority: status %d, want 503", code)
	}
	t.Logf("minority write refused with %d after %s", code, time.Since(start))
	if got := lookupStatus(c.url(leader), "during-partition"); got == http.StatusOK {
		t.Fatal("the partitioned agent served a linearizable read it cannot know is current")
	} else if got != http.StatusServiceUnavailable {
		t.Fatalf("linearizable read on the minority: status %d, want 503", got)
	}
	if got := lookupStatus(c.url(leader), "before-0?stale"); got != http.StatusOK {
		t.Fatalf("a stale read on the minority should still answer from its replica: %d", got)
	}

	c.heal()
	waitFor(t, "all three agents to agree on a leader", 20*time.Second, func() bool { return c.leaderAmong(all...) != 0 })
	waitFor(t, "all agents to converge on one applied index", 20*time.Second, func() bool {
		var idx []uint64
		for _, i := range all {
			st, ok := c.status(i)
			if !ok {
				return false
			}
			idx = append(idx, st.FSMIndex)
		}
		return idx[0] == idx[1] && idx[1] == idx[2]
	})
	for _, i := range all {
		if got := lookupStatus(c.url(i), "during-partition"); got != http.StatusOK {
			t.Fatalf("agent %d after healing: %d", i, got)
		}
		if got := lookupStatus(c.url(i), "on-the-minority"); got != http.StatusNotFound {
			t.Fatalf("the refused write appeared on agent %d: %d", i, got)
		}
	}
}
