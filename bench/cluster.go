package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Status is the part of /admin/raft the benchmarks read.
type Status struct {
	NodeID string `json:"node_id"`
	State  string `json:"state"`
	Leader *struct {
		ID   string `json:"id"`
		HTTP string `json:"http"`
	} `json:"leader"`
}

// StatusOf reads an agent's /admin/raft.
func StatusOf(c *http.Client, base string) (Status, error) {
	var st Status
	resp, err := c.Get(base + "/admin/raft")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// Roles splits targets into the leader and the followers.
func Roles(c *http.Client, targets []string) (leader string, followers []string, err error) {
	for _, t := range targets {
		st, err := StatusOf(c, t)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", t, err)
		}
		if st.State == "Leader" {
			leader = t
		} else {
			followers = append(followers, t)
		}
	}
	if leader == "" {
		return "", nil, fmt.Errorf("no leader among %s", strings.Join(targets, ", "))
	}
	return leader, followers, nil
}

// until polls cond every 2ms until it holds or timeout, and returns how
// long it took (or an error).
func until(timeout time.Duration, cond func() bool) (time.Duration, error) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("not within %s", timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start), nil
}
