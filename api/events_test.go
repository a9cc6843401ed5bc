package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	resumed := readEvents(t, c.LeaderURL(t)+"/events", h, 1)
	if resumed[0].event != "removed" || resumed[0].id != evs[2].id {
		t.Fatalf("resume: %+v", resumed)
	}
	// Live: a stream opened now sees a registration made afterwards.
	done := make(chan []sseEvent, 1)
	go func() { done <- readEvents(t, c.URL(f)+"/events?index="+evs[2].id, nil, 1) }()
	post(t, c.LeaderURL(t)+"/register", map[string]string{"name": "ev-live", "address": "10.0.0.2:80"})
	live := <-done
	if live[0].event != "registered" || !strings.Contains(live[0].data, `"ev-live"`) {
		t.Fatalf("live: %+v", live)
	}
}

// Concurrent writes share batch entries: their events share an index, and
// only the last event of each index carries the id, so that a client
// resuming from any id it saw never skips part of an entry.
func TestEventStreamIDsMarkWholeEntries(t *testing.T) {
	c, err := agenttest.Start(3, agenttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"name":"batch","address":"10.1.0.%d:80"}`, i+1)
			resp, err := http.Post(c.LeaderURL(t)+"/register", "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					err = fmt.Errorf("register %s: status %d", body, resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	evs := readEvents(t, c.URL(c.Followers()[0])+"/events", nil, n+1)[1:] // after the bootstrap membership
	shared := 0
	for i, ev := range evs {
		var v struct {
			Index uint64 `json:"index"`
		}
		if err := json.Unmarshal([]byte(ev.data), &v); err != nil || ev.event != "registered" {
			t.Fatalf("event %d: %+v", i, ev)
		}
		lastOfIndex := i == len(evs)-1 || !strings.Contains(evs[i+1].data, fmt.Sprintf(`"index":%d,`, v.Index))
		switch {
		case lastOfIndex && ev.id != strconv.FormatUint(v.Index, 10):
			t.Fatalf("event %d, the last at index %d, has id %q", i, v.Index, ev.id)
		case !lastOfIndex && ev.id != "":
			t.Fatalf("event %d at index %d has id %q, but more events of that index follow", i, v.Index, ev.id)
		case !lastOfIndex:
			shared++
		}
	}
	if shared == 0 {
		t.Fatalf("%d concurrent registrations produced no shared index: nothing was batched", n)
	}
	t.Logf("%d of %d events shared their entry with the next", shared, n)
}
