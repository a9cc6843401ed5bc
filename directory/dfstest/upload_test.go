package dfstest_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

// An upload that takes longer than --http-write-timeout, its bytes
// arriving all along, is still answered: the answer's deadline moves
// with the body, as the read deadline does. (A cluster of its own: one
// agent, one file server, a one-second write timeout.)
func TestASlowUploadOutlastsTheWriteTimeout(t *testing.T) {
	const timeout = time.Second
	c, toks, err := agenttest.StartFileSystem(1, []string{"eve"}, agenttest.Options{
		FileServers: 1,
		Configure: func(i int, cfg *agent.Config) {
			cfg.API.Limits.WriteTimeout = timeout
			cfg.Directory.Replicas = 1
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()

	want := randomBytes(20<<10, 11)
	pr, pw := io.Pipe()
	go func() {
		// 20 pieces 150 ms apart: 3 s in all, each well within the
		// timeout of the one before.
		for k := 0; k < len(want); k += 1 << 10 {
			if _, err := pw.Write(want[k : k+1<<10]); err != nil {
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequestWithContext(withTimeout(t, 30*time.Second), http.MethodPost, c.URL(0)+"/write?name=slow", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+toks["eve"])
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the slow upload got no answer after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the slow upload after %s: %d %s (%v)", time.Since(start).Round(time.Millisecond), resp.StatusCode, body, err)
	}
	if took := time.Since(start); took < 2*timeout {
		t.Fatalf("the upload took %s: not longer than the write timeout %s, so it shows nothing", took, timeout)
	}
	r, err := http.NewRequest(http.MethodGet, c.URL(0)+"/read?name=slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+toks["eve"])
	resp, err = httpClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("read back: %d, %d bytes (%v); want the %d written", resp.StatusCode, len(got), err, len(want))
	}
}
