package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/custodes/custodes/keyring"
)

// Paths of the agent's routes `custodes fileserver leave` calls.
const (
	drainPath    = "/admin/dfs/drain"
	dfsAdminPath = "/admin/dfs"
)

// drainRequest is the body of POST /admin/dfs/drain.
type drainRequest struct {
	Server string `json:"server"`
}

// dfsProgress is what `fileserver leave` reads of GET /admin/dfs.
type dfsProgress struct {
	Servers []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Files int64  `json:"files"`
	} `json:"servers"`
	// ReplicationQueue is the files short of live copies (issue 10);
	// agents without it answer under_replicated only.
	ReplicationQueue *int64 `json:"replication_queue"`
	UnderReplicated  int64  `json:"under_replicated"`
}

// errNotListed: the agent lists no such file server (not retried).
var errNotListed = errors.New("not listed")

// runFileserverLeave drains a file server: it asks an agent to mark it
// draining (its copies are made elsewhere, then it is dropped from every
// file), then polls /admin/dfs until the server is left or the timeout.
func runFileserverLeave(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes fileserver leave", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", "127.0.0.1:8500", "HTTP address of an agent")
	id := fs.String("id", "", "id of the file server to drain (required)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up (exit 1) when the server is not left after this long")
	poll := fs.Duration("poll-interval", 2*time.Second, "time between two reads of /admin/dfs")
	token := fs.String("token", "", "a token for the agent's ACL, if it needs one (or CUSTODES_TOKEN)")
	var key keyFlags
	key.bind(fs)
	var tf clientTLSFlags
	tf.bind(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "custodes fileserver leave: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments %q", fs.Args())
	case *id == "":
		return usage("--id is required")
	case *timeout <= 0 || *poll <= 0:
		return usage("--timeout and --poll-interval must be positive")
	}
	keys, _, err := key.load(os.Getenv)
	if err != nil {
		return usage("cluster key: %v", err)
	}
	base, scheme, err := tf.transport()
	if err != nil {
		return usage("%v", err)
	}
	if *token == "" {
		*token = strings.TrimSpace(os.Getenv("CUSTODES_TOKEN"))
	}
	l := &leaver{
		client: &http.Client{Timeout: 30 * time.Second, Transport: keyring.Transport(keys, base)},
		base:   scheme + *addr, token: *token, id: *id, poll: *poll, out: stdout, errOut: stderr,
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := l.run(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%s is not left after %v (the drain goes on; run again to keep watching)", *id, *timeout)
		}
		fmt.Fprintln(stderr, "custodes fileserver leave:", err)
		return 1
	}
	return 0
}

// leaver drains one file server through one agent.
type leaver struct {
	client      *http.Client
	base, token string
	id          string
	poll        time.Duration
	out, errOut io.Writer
}

func (l *leaver) run(ctx context.Context) error {
	body, _ := json.Marshal(drainRequest{Server: l.id})
	if _, err := l.call(ctx, http.MethodPost, drainPath, body); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	fmt.Fprintf(l.out, "%s: drain requested\n", l.id)
	last := ""
	for {
		state, line, err := l.progress(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil && errors.Is(err, errNotListed):
			return err
		case err != nil:
			fmt.Fprintf(l.errOut, "custodes fileserver leave: reading %s: %v; retrying\n", dfsAdminPath, err)
		case line != last:
			fmt.Fprintln(l.out, line)
			last = line
		}
		if state == "left" {
			return nil
		}
		t := time.NewTimer(l.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// progress reads /admin/dfs: the server's state and a line to print.
// A server the agent does not list is errNotListed.
func (l *leaver) progress(ctx context.Context) (string, string, error) {
	b, err := l.call(ctx, http.MethodGet, dfsAdminPath, nil)
	if err != nil {
		return "", "", err
	}
	var p dfsProgress
	if err := json.Unmarshal(b, &p); err != nil {
		return "", "", fmt.Errorf("%s: %w", dfsAdminPath, err)
	}
	queue := p.UnderReplicated
	if p.ReplicationQueue != nil {
		queue = *p.ReplicationQueue
	}
	for _, s := range p.Servers {
		if s.ID == l.id {
			return s.State, fmt.Sprintf("%s: %s, %d files on it, replication queue %d", l.id, s.State, s.Files, queue), nil
		}
	}
	return "", "", fmt.Errorf("%w: the directory lists no file server %q", errNotListed, l.id)
}

// call makes one request (signed by the client's transport) and returns
// the body of a 2xx answer.
func (l *leaver) call(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}
