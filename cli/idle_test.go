package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A download that stops receiving bytes is given up after --idle-timeout
// (exit 1, saying so, the local file untouched); one whose bytes keep
// coming, slowly, runs longer than the timeout and completes.
func TestADownloadThatStallsIsGivenUp(t *testing.T) {
	chunks := strings.Fields("slow but steady bytes that keep coming in")
	whole := strings.Join(chunks, "")
	sum := sha256.Sum256([]byte(whole))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		switch r.URL.Query().Get("name") {
		case "stalls":
			_, _ = w.Write([]byte("a first part"))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // nothing more until the client goes
		case "no-headers":
			<-r.Context().Done()
		default:
			for _, c := range chunks {
				_, _ = w.Write([]byte(c))
				w.(http.Flusher).Flush()
				time.Sleep(150 * time.Millisecond) // the pace of a slow agent
			}
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	local := filepath.Join(dir, "out")
	if err := os.WriteFile(local, []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stalls", "no-headers"} {
		began := time.Now()
		code, _, stderr := run(t, srv, nil, "files", "get", "--idle-timeout", "300ms", name, local)
		if code != ExitError || !strings.Contains(stderr, "no data from the agent for 300ms") {
			t.Fatalf("%s: exit %d after %s, %q", name, code, time.Since(began), stderr)
		}
		if b, _ := os.ReadFile(local); string(b) != "before" {
			t.Fatalf("%s: the local file was replaced: %q", name, b)
		}
	}
	began := time.Now()
	code, _, stderr := run(t, srv, nil, "files", "get", "--idle-timeout", "1s", "steady", local)
	if code != ExitOK {
		t.Fatalf("a steady download: exit %d, %q", code, stderr)
	}
	if took := time.Since(began); took < time.Second {
		t.Fatalf("the steady download took %s, not longer than its idle timeout: the test shows nothing", took)
	}
	if b, _ := os.ReadFile(local); string(b) != whole {
		t.Fatalf("local file holds %q", b)
	}
}
