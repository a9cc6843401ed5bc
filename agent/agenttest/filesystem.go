package agenttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/custodes/custodes/agent"
)

// StartFileSystem starts agents agents and opts.FileServers file servers
// under a cluster key (a fresh one unless opts.Keys is set), waits until
// every agent lists the file servers registered and alive, bootstraps
// ACLs and creates users (role services:read), and waits until every
// agent knows them. It returns their tokens by name, and the bootstrap
// (management) token as "root". On an error nothing is left running.
func StartFileSystem(agents int, users []string, opts Options) (*Cluster, map[string]string, error) {
	if len(opts.Keys) == 0 {
		opts.Keys = NewKeys()
	}
	inner := opts.Configure
	opts.Configure = func(i int, cfg *agent.Config) {
		// 500 ms Raft timings, as directory/dfstest and
		// replication/repltest use: a file system (agents, file servers,
		// sweeps) on 2 loaded cores lost its leader for seconds at the
		// registry's 200 ms. opts.Configure may set others.
		cfg.Cluster.HeartbeatTimeout, cfg.Cluster.ElectionTimeout = 500*time.Millisecond, 500*time.Millisecond
		cfg.Cluster.LeaderLeaseTimeout = 500 * time.Millisecond
		if inner != nil {
			inner(i, cfg)
		}
	}
	c, err := Start(agents, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := c.WaitForFileServers(opts.FileServers, time.Minute); err != nil {
		c.Shutdown()
		return nil, nil, err
	}
	tokens, err := c.MakeUsers(users)
	if err != nil {
		c.Shutdown()
		return nil, nil, err
	}
	return c, tokens, nil
}

// MakeUsers bootstraps ACLs through the leader, creates users (role
// services:read) and waits until every live agent knows them. It returns
// their tokens by name, and the bootstrap token as "root".
func (c *Cluster) MakeUsers(users []string) (map[string]string, error) {
	l, err := c.WaitForLeader(20 * time.Second)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path, token string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, c.URL(l)+path, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
			return nil, fmt.Errorf("POST %s: %d %v %v", path, resp.StatusCode, out, err)
		}
		return out, nil
	}
	boot, err := post("/acl/bootstrap", "", nil)
	if err != nil {
		return nil, err
	}
	root, ok := boot["token"].(string)
	if !ok {
		return nil, fmt.Errorf("POST /acl/bootstrap: no token in %v", boot)
	}
	tokens := map[string]string{"root": root}
	for _, u := range users {
		out, err := post("/acl/users", root, map[string]any{"name": u, "roles": []string{"services:read"}})
		if err != nil {
			return nil, err
		}
		tok, ok := out["token"].(string)
		if !ok {
			return nil, fmt.Errorf("POST /acl/users %s: no token in %v", u, out)
		}
		tokens[u] = tok
	}
	// Every agent must know the users before a test asks any of them.
	var missing string
	err = poll(10*time.Second, func() bool {
		for i, a := range c.Agents {
			for _, u := range users {
				if a == nil {
					continue
				}
				if _, ok := a.Node().FSM().User(u); !ok {
					missing = fmt.Sprintf("agent %d does not know %s", i+1, u)
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("after 10s: %s", missing)
	}
	return tokens, nil
}
