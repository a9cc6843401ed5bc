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
	c, err := agenttest.Start(3, agenttest.Options{Configure: func(_ int, cfg *agent.Config) {
		cfg.API.ACL.Default = api.ACLDeny
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	l, _ := c.WaitForLeader(10 * time.Second)
	f := c.Followers()[0]

	if st, _ := call(t, http.MethodGet, c.URL(f)+"/events", "", nil); st != http.StatusUnauthorized {
		t.Fatalf("events without a token under deny: %d", st)
	}
	st, out := call(t, http.MethodPost, c.URL(l)+"/acl/bootstrap", "", nil)
	if st != http.StatusOK {
		t.Fatalf("bootstrap: %d %v", st, out)
	}
	root := out["token"].(string)
	st, out = call(t, http.MethodPost, c.URL(l)+"/acl/users", root, map[string]any{"name": "watcher", "roles": []string{"services:read"}})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, out)
	}
	tok := out["token"].(string)

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
	if st, out := call(t, http.MethodDelete, c.URL(l)+"/acl/users/watcher", root, nil); st != http.StatusOK {
		t.Fatalf("delete: %d %v", st, out)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("stream ended with %v, want a clean end", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the deleted user's event stream is still open")
	}
}
