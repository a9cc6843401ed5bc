package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/fileserver"
	"github.com/custodes/custodes/keyring"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFileserverRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fileserver", "--data-dir", t.TempDir()}, "id is required"},
		{[]string{"fileserver", "--id", "fs1"}, "data dir is required"},
		{[]string{"fileserver", "--id", "fs1", "--data-dir", t.TempDir(), "--encrypt", "c2hvcnQ="}, "--encrypt: key 1"},
		{[]string{"fileserver", "--id", "fs1", "--data-dir", t.TempDir(), "--agents", "nohostport"}, "agent address"},
		{[]string{"fileserver", "--id", "fs1", "--data-dir", t.TempDir(), "extra"}, "unexpected arguments"},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// `custodes fileserver` starts, answers /alive under its id, and stops.
func TestFileserverRunsUntilStopped(t *testing.T) {
	k, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var errOut syncBuffer
	stop := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- runFileserverUntil([]string{"--id", "fs1", "--data-dir", dir, "--http", "127.0.0.1:0",
			"--gossip", "127.0.0.1:0", "--agents", "127.0.0.1:1", "--encrypt", k}, &errOut, stop)
	}()
	re := regexp.MustCompile(`http=(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		if m := re.FindStringSubmatch(errOut.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no start line: %s", errOut.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if id, err := (&fileserver.Client{}).Alive(context.Background(), addr); err != nil || id != "fs1" {
		t.Fatalf("alive: %q %v", id, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "copies")); err != nil {
		t.Fatal(err)
	}
	close(stop)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}
