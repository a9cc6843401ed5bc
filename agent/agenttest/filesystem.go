package agenttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	client := &http.Client{Timeout: 10 * time.Second}
	// post calls the leader of the moment and returns the status with the
	// decoded answer.
	post := func(path, token string, body any) (int, map[string]any, error) {
		l, err := c.WaitForLeader(30 * time.Second)
		if err != nil {
			return 0, nil, err
		}
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(http.MethodPost, c.URL(l)+path, rd)
		if err != nil {
			return 0, nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("POST %s: %d %v", path, resp.StatusCode, err)
		}
		return resp.StatusCode, out, nil
	}
	// token makes a call that answers a token, as a client should on a
	// loaded machine: a 503 (no leader, or an outcome unknown) is sent
	// again; when a retry finds the object made (conflict), again is how
	// its token is had instead (a rotation), if there is one.
	token := func(path, auth string, body any, again func() (int, map[string]any, error)) (string, error) {
		var out map[string]any
		status, retried, err := c.Resend(5, func(int) (int, error) {
			s, o, err := post(path, auth, body)
			out = o
			return s, err
		})
		if err == nil && retried && again != nil && (status == http.StatusConflict || status == http.StatusForbidden) {
			status, out, err = again()
		}
		if err != nil {
			return "", err
		}
		tok, ok := out["token"].(string)
		if status >= 300 || !ok {
			return "", fmt.Errorf("POST %s: %d %v", path, status, out)
		}
		return tok, nil
	}
	// A bootstrap whose outcome was unknown and that applied cannot give
	// its token again: that case stays an error.
	root, err := token("/acl/bootstrap", "", nil, nil)
	if err != nil {
		return nil, err
	}
	tokens := map[string]string{"root": root}
	for _, u := range users {
		tok, err := token("/acl/users", root, map[string]any{"name": u, "roles": []string{"services:read"}},
			func() (int, map[string]any, error) { return post("/acl/users/"+u+"/token", root, nil) })
		if err != nil {
			return nil, err
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
