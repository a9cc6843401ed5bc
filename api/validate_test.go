package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

// The rules live in fsm/catalog; the API answers their messages as 400s
// with its "invalid request: " prefix, and the agent's limits (lowered by
// the harness to 20ms and 100ms) reach them.
func TestRegistrationRulesAnswer400(t *testing.T) {
	c, err := agenttest.Start(1, agenttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	if _, err := c.WaitForLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body string
		want string // the whole error message; "" for 201
	}{
		{`{"name":"web","address":"10.0.0.1:80","check":{}}`, ""},
		{`{"name":"Web","address":"10.0.0.1:80"}`,
			`invalid request: name "Web" is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit`},
		{`{"name":"web","address":"10.0.0.2:80","check":{"interval":"10ms"}}`, "invalid request: check.interval must be at least 20ms"},
		{`{"name":"web","address":"10.0.0.2:80","check":{"interval":"soon"}}`,
			`invalid request: check.interval "soon" is not a positive duration such as 10s`},
		{`{"name":"web","address":"10.0.0.2:80","check":{"ttl":"1s","http":"http://x/"}}`,
			"invalid request: a check has either ttl or http/interval/timeout, not both"},
		{`{"name":"web","address":"10.0.0.2:80","check":{"ttl":"1s","deregister_after":"50ms"}}`,
			"invalid request: check.deregister_after must be at least 100ms"},
		{`{"name":"web","address":"10.0.0.2:80","check":{"interval":"1s","timeout":"2s"}}`,
			"invalid request: check.timeout (2s) must be less than check.interval (1s)"},
		{`{"name":"web","address":"10.0.0.2:80","rectify":{"url":"nope"}}`, `invalid request: rectify.url "nope" is not an http(s) URL`},
	} {
		resp, err := http.Post(c.URL(0)+"/register", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &got)
		switch {
		case tc.want == "" && resp.StatusCode != http.StatusCreated:
			t.Errorf("%s: %d %s, want 201", tc.body, resp.StatusCode, raw)
		case tc.want != "" && (resp.StatusCode != http.StatusBadRequest || got.Error != tc.want):
			t.Errorf("%s: %d %q, want 400 %q", tc.body, resp.StatusCode, got.Error, tc.want)
		}
	}
}
