package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
)

type sseEvent struct {
	id, event, data string
}

// readEvents reads server-sent events until n arrived or the deadline.
func readEvents(t *testing.T, url string, header http.Header, n int) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// Cancel before closing: the stream never ends by itself.
	defer resp.Body.Close()
	defer cancel()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.event != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	if len(out) < n {
		t.Fatalf("got %d events, want %d: %+v", len(out), n, out)
	}
	return out
}

func post(t *testing.T, url string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %v", url, resp.StatusCode, out)
	}
	return out
}

func TestEventStreamFollowsChangesAndResumes(t *testing.T) {
	c, err := agenttest.Start(3, agenttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	f := c.Followers()[0]
	reg := post(t, c.URL(f)+"/register", map[string]string{"name": "ev", "address": "10.0.0.1:80"})
	id := reg["id"].(string)
	req, _ := http.NewRequest(http.MethodDelete, c.URL(f)+"/instance/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// From the start: the bootstrap membership change, then the catalog.
	evs := readEvents(t, c.URL(f)+"/events", nil, 3)
	if evs[0].event != "membership" || evs[1].event != "registered" || evs[2].event != "removed" {
		t.Fatalf("unexpected events: %+v", evs)
	}
	var reg1 struct {
		Index    uint64 `json:"index"`
		Instance struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"instance"`
	}
	if err := json.Unmarshal([]byte(evs[1].data), &reg1); err != nil {
		t.Fatal(err)
	}
	if reg1.Instance.ID != id || reg1.Instance.Name != "ev" || evs[1].id == "" {
		t.Fatalf("registered event: %+v (id %s)", reg1, evs[1].id)
	}
	// Resuming after the registration yields the removal first.
	h := http.Header{"Last-Event-ID": {evs[1].id}}
	resumed := readEvents(t, c.URL(c.Leader())+"/events", h, 1)
	if resumed[0].event != "removed" || resumed[0].id != evs[2].id {
		t.Fatalf("resume: %+v", resumed)
	}
	// Live: a stream opened now sees a registration made afterwards.
	done := make(chan []sseEvent, 1)
	go func() { done <- readEvents(t, c.URL(f)+"/events?index="+evs[2].id, nil, 1) }()
	post(t, c.URL(c.Leader())+"/register", map[string]string{"name": "ev-live", "address": "10.0.0.2:80"})
	live := <-done
	if live[0].event != "registered" || !strings.Contains(live[0].data, `"ev-live"`) {
		t.Fatalf("live: %+v", live)
	}
}
