package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/api"
)

func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// An event stream is filtered like any read under deny, and ends as soon
// as its user is deleted: a stream must not outlive the token.
func TestEventStreamEndsWhenItsUserIsDeleted(t *testing.T) {
	root, err := api.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	c, err := agenttest.Start(3, agenttest.Options{Keys: agenttest.NewKeys(), Configure: func(_ int, cfg *agent.Config) {
		cfg.API.ACL = api.ACLConfig{Default: api.ACLDeny, InitialManagementToken: root}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	agenttest.WaitFor(t, "the initial token's bootstrap on every agent", 10*time.Second, func() bool {
		for _, a := range c.Agents {
			if !a.Node().FSM().ACLBootstrapped() {
				return false
			}
		}
		return true
	})
	f := c.Followers()[0]

	if st, _ := call(t, http.MethodGet, c.URL(f)+"/events", "", nil); st != http.StatusUnauthorized {
		t.Fatalf("events without a token under deny: %d", st)
	}
	// Retried under new names: a write answered 503 may have happened.
	var tok string
	agenttest.WaitFor(t, "a user created", 10*time.Second, func() bool {
		st, out := call(t, http.MethodPost, c.URL(f)+"/acl/users", root, map[string]any{"name": "watcher", "roles": []string{"services:read"}})
		if st == http.StatusConflict {
			st, out = call(t, http.MethodPost, c.URL(f)+"/acl/users/watcher/token", root, nil)
		}
		tok, _ = out["token"].(string)
		return st/100 == 2 && tok != ""
	})
	// The write was acknowledged once every live agent applied it (2 s at
	// most): wait the same bound here so a loaded machine does not fail
	// the test on what it does not test.
	agenttest.WaitFor(t, "the follower to know the user", 3*time.Second, func() bool {
		_, ok := c.Agents[f].Node().FSM().UserByTokenHash(api.HashToken(tok))
		return ok
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL(f)+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events with a reader's token: %d", resp.StatusCode)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	agenttest.WaitFor(t, "the user deleted", 10*time.Second, func() bool {
		st, _ := call(t, http.MethodDelete, c.URL(f)+"/acl/users/watcher", root, nil)
		return st == http.StatusOK || st == http.StatusNotFound
	})
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("stream ended with %v, want a clean end", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the deleted user's event stream is still open")
	}
}
