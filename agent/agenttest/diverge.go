package agenttest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Diverge leaves the leader holding a restore of archive that the cluster
// never committed, as a leadership lost during a restore can: the other
// agents are killed, the leader restores archive alone (it installs it,
// then cannot commit: 503), is killed while the others come back and
// elect a leader of a later term, and is started again. It returns that
// agent's index; it then holds a state the cluster never had
// (cluster/diverge.go says what the agent does about it).
func (c *Cluster) Diverge(archive []byte) (int, error) {
	l, err := c.WaitForLeader(20 * time.Second)
	if err != nil {
		return -1, err
	}
	var others []int
	for i, a := range c.Agents {
		if a != nil && i != l {
			others = append(others, i)
			c.Kill(i)
		}
	}
	req, err := http.NewRequest(http.MethodPut, c.URL(l)+"/admin/snapshot", bytes.NewReader(archive))
	if err != nil {
		return -1, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		return -1, fmt.Errorf("a restore with no quorum answered %d %s, want 503", resp.StatusCode, b)
	}
	// Down while the others elect a leader: its log, longer, could
	// otherwise win it the election, and the restore would be the
	// cluster's after all.
	c.Kill(l)
	for _, i := range others {
		if err := c.Restart(i); err != nil {
			return -1, err
		}
	}
	if _, err := c.WaitForLeader(20 * time.Second); err != nil {
		return -1, err
	}
	return l, c.Restart(l)
}

// StartDiverged starts 3 agents, registers "before", saves a snapshot,
// registers "after", and makes the leader diverge with that snapshot
// (Diverge). It returns the cluster and the diverged agent's index: the
// others serve "after", the diverged one holds a state without it.
func StartDiverged() (*Cluster, int, error) {
	c, err := Start(3, Options{})
	if err != nil {
		return nil, -1, err
	}
	d, err := c.divergeAfterTwoRegistrations()
	if err != nil {
		c.Shutdown()
		return nil, -1, err
	}
	return c, d, nil
}

func (c *Cluster) divergeAfterTwoRegistrations() (int, error) {
	l, err := c.WaitForLeader(30 * time.Second)
	if err != nil {
		return -1, err
	}
	call := func(method, path, body string) ([]byte, error) {
		req, err := http.NewRequest(method, c.URL(l)+path, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode/100 != 2 {
			err = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b, err
	}
	if _, err := call(http.MethodPost, "/register", `{"name":"before","address":"10.0.0.1:80"}`); err != nil {
		return -1, err
	}
	archive, err := call(http.MethodGet, "/admin/snapshot", "")
	if err != nil {
		return -1, err
	}
	if _, err := call(http.MethodPost, "/register", `{"name":"after","address":"10.0.0.2:80"}`); err != nil {
		return -1, err
	}
	return c.Diverge(archive)
}
