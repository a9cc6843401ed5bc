package fileserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetrics(t *testing.T) {
	store, _ := openStore(t)
	scrubs := ScrubStats{Runs: 2, Copies: 3, Bytes: 30, Corrupt: 1, Last: ScrubResult{Took: 1500 * time.Millisecond}}
	ts := newTestServerWith(t, HandlerConfig{ID: "fs1", Store: store, MaxCopySize: 4 * ChunkSize,
		Metrics: NewMetrics(store, func() ScrubStats { return scrubs })})
	copyURL := ts.URL + "/v1/copies/" + fileA + "/1"
	if resp := send(t, must(http.NewRequest("PUT", copyURL, strings.NewReader("hello")))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	if resp := send(t, must(http.NewRequest("GET", copyURL, nil))); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	send(t, must(http.NewRequest("GET", ts.URL+"/v1/copies/"+fileA+"/9", nil)))

	resp := send(t, must(http.NewRequest("GET", ts.URL+"/metrics", nil)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`custodes_fileserver_puts_total{code="201"} 1`,
		`custodes_fileserver_gets_total{code="200"} 1`,
		`custodes_fileserver_gets_total{code="404"} 1`,
		`custodes_fileserver_put_fsync_seconds_count 1`,
		`custodes_fileserver_copies{corrupt="false"} 1`,
		`custodes_fileserver_bytes 5`,
		`custodes_fileserver_scrub_runs_total 2`,
		`custodes_fileserver_scrub_corrupt_total 1`,
		`custodes_fileserver_scrub_last_duration_seconds 1.5`,
		`process_`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}

// /metrics is open under the key, like /alive.
func TestMetricsOpenUnderTheKey(t *testing.T) {
	ts := newTestServer(t, testKeys(t), "fs1")
	if resp := send(t, must(http.NewRequest("GET", ts.URL+"/metrics", nil))); resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
}
