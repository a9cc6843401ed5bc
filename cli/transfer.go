package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Streaming transfers: files put and get, snapshot save and restore. The
// bytes pass through a fixed buffer (io.Copy's, the transport's), never
// whole in memory; a download lands in a temporary file beside its target
// and is renamed over it only once complete and checked.

// sentBody is a request body whose end the sender can wait for: the HTTP
// transport reads it in a goroutine of its own and closes it when done,
// possibly after the answer came back.
type sentBody struct {
	r      io.Reader
	once   sync.Once
	closed chan struct{}
}

func newSentBody(r io.Reader) *sentBody { return &sentBody{r: r, closed: make(chan struct{})} }

func (b *sentBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// wait returns once the transport is done with the body.
func (b *sentBody) wait(ctx context.Context) error {
	select {
	case <-b.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// openLocal opens a local file to send, or stdin for "-": its reader, its
// length (-1 unknown) and how to close it.
func (inv *invocation) openLocal(name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return inv.stdin, -1, func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, nil, err
	}
	if st.IsDir() {
		fh.Close()
		return nil, 0, nil, fmt.Errorf("%s is a directory", name)
	}
	size := st.Size()
	if !st.Mode().IsRegular() {
		size = -1 // a pipe or device: its length is not known
	}
	return fh, size, func() { fh.Close() }, nil
}

// upload streams a local file (or stdin) as r's body and returns the
// answer's body, after checking that what the transport sent is all of
// it; sum is the SHA-256 of the bytes sent.
func (inv *invocation) upload(c *client, r request, local, label string) (raw []byte, sum string, err error) {
	src, size, closeSrc, err := inv.openLocal(local)
	if err != nil {
		return nil, "", err
	}
	defer closeSrc()
	h := sha256.New()
	bar := inv.newProgress(label, size)
	body := newSentBody(bar.reader(io.TeeReader(src, h)))
	r.stream, r.length = body, size
	resp, err := c.do(inv.ctx, r)
	bar.finish()
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: reading the answer: %w", r.method, r.path, err)
	}
	if err := body.wait(inv.ctx); err != nil {
		return nil, "", err
	}
	return raw, hex.EncodeToString(h.Sum(nil)), nil
}

// fileAnswer is the write and update answer.
type fileAnswer struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Owner    string   `json:"owner"`
	Version  uint64   `json:"version"`
	Size     int64    `json:"size"`
	SHA256   string   `json:"sha256"`
	Replicas []string `json:"replicas"`
}

func filesPut(inv *invocation, args []string) error {
	f := inv.newFlags("files put", "[flags] LOCAL [NAME]",
		"Write the local file LOCAL (- for stdin) as NAME (default: LOCAL's base name). It is streamed, and the\n"+
			"SHA-256 the agent stored is checked against the bytes sent. With --lock-token, update an existing\n"+
			"file instead (its lock held: see `files lock`).")
	tok := f.String("lock-token", "", "update the file NAME with this lock token (default $"+EnvLockToken+" when --update)")
	update := f.Bool("update", false, "update an existing file (needs the lock token: --lock-token or $"+EnvLockToken+")")
	owner := f.String("owner", "", "with --update: the file's owner, when another user shared it with write access")
	ops, err := f.operands(args, 1, 2)
	if err != nil {
		return err
	}
	local, name := ops[0], ""
	if len(ops) == 2 {
		name = ops[1]
	} else if local != "-" {
		name = filepath.Base(local)
	}
	if name == "" {
		return f.usagef("NAME is needed when the bytes come from stdin")
	}
	token := *tok
	if *update || token != "" {
		*update = true
		if token = lockToken(inv, token); token == "" {
			return f.usagef("--update needs --lock-token (or $%s)", EnvLockToken)
		}
	} else if *owner != "" {
		return f.usagef("--owner is for --update")
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	r := request{method: http.MethodPost, path: "/write", query: fileQuery(name, "")}
	if *update {
		r.path, r.query = "/update", fileQuery(name, *owner)
		r.header = http.Header{"X-Lock-Token": {token}}
	}
	raw, sum, err := inv.upload(c, r, local, name)
	if err != nil {
		return err
	}
	var ans fileAnswer
	if err := decode(raw, &ans, r.path); err != nil {
		return err
	}
	if ans.SHA256 != sum {
		return fmt.Errorf("%s: the agent stored SHA-256 %s, the bytes sent were %s", name, ans.SHA256, sum)
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	verb := "wrote"
	if *update {
		verb = "updated"
	}
	fmt.Fprintf(inv.stdout, "%s %s: version %d, %s, sha256 %s, replicas %s\n", verb, ans.Name, ans.Version,
		humanBytes(ans.Size), short(ans.SHA256, 12), strings.Join(ans.Replicas, ","))
	return nil
}

// download streams a 2xx answer's body to local ("-": stdout), hashing it
// as it goes. A local file is written to a temporary file beside it and
// renamed into place only when the bytes' SHA-256 is want (when want is
// not ""), so a broken or wrong transfer never replaces it. It returns the
// number of bytes and their SHA-256.
func (inv *invocation) download(resp *http.Response, local, label, want string) (int64, string, error) {
	h := sha256.New()
	var bar *progress
	if local != "-" || !isTerminal(inv.stdout) {
		// Not over the bytes themselves when they go to the same screen.
		bar = inv.newProgress(label, resp.ContentLength)
	}
	defer bar.finish()
	if local == "-" {
		n, err := io.Copy(io.MultiWriter(bar.writer(inv.stdout), h), resp.Body)
		sum := hex.EncodeToString(h.Sum(nil))
		if err == nil && want != "" && sum != want {
			err = fmt.Errorf("the bytes written to stdout have SHA-256 %s, not %s: discard them", sum, want)
		}
		return n, sum, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".part-*")
	if err != nil {
		return 0, "", err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // fails harmlessly once renamed
	}()
	n, err := io.Copy(io.MultiWriter(bar.writer(tmp), h), resp.Body)
	sum := hex.EncodeToString(h.Sum(nil))
	if err != nil {
		return n, sum, err
	}
	if want != "" && sum != want {
		return n, sum, fmt.Errorf("the bytes read have SHA-256 %s, not %s; %s is left as it was", sum, want, local)
	}
	// Durable before it replaces anything.
	if err := tmp.Chmod(0o644); err != nil {
		return n, sum, err
	}
	if err := tmp.Sync(); err != nil {
		return n, sum, err
	}
	if err := tmp.Close(); err != nil {
		return n, sum, err
	}
	return n, sum, os.Rename(tmp.Name(), local)
}

func filesGet(inv *invocation, args []string) error {
	f := inv.newFlags("files get", "[flags] NAME [LOCAL]",
		"Read the file NAME into LOCAL: a file, a directory (under NAME's last part), or - for stdout (the\n"+
			"default). It is streamed into a temporary file beside LOCAL, checked against the file's SHA-256, then\n"+
			"renamed into place.")
	owner := f.String("owner", "", "the file's owner, when it is another user's file shared with you")
	idle := f.Duration("idle-timeout", defaultIdleTimeout, "give up when no data arrives for this long (0: never)")
	ops, err := f.operands(args, 1, 2)
	if err != nil {
		return err
	}
	local := "-"
	if len(ops) == 2 {
		local = ops[1]
	}
	if st, err := os.Stat(local); err == nil && st.IsDir() && local != "-" {
		// Into a directory, as cp does: under the name's last part.
		local = filepath.Join(local, path.Base(ops[0]))
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	w := watchIdle(inv.ctx, *idle)
	defer w.stop()
	resp, err := c.do(w.ctx, request{method: http.MethodGet, path: "/read", query: fileQuery(ops[0], *owner)})
	if err != nil {
		return w.explain(err)
	}
	defer resp.Body.Close()
	w.body(resp)
	// The ETag is the file's SHA-256 (api/dfs.go).
	want := strings.Trim(resp.Header.Get("ETag"), `"`)
	n, sum, err := inv.download(resp, local, ops[0], want)
	err = w.explain(err)
	if err != nil {
		return fmt.Errorf("%s: after %d bytes: %w", ops[0], n, err)
	}
	if local == "-" {
		return nil
	}
	version, _ := strconv.ParseUint(resp.Header.Get("X-Custodes-Version"), 10, 64)
	if f.json {
		b, err := json.Marshal(map[string]any{"name": ops[0], "version": version, "size": n, "sha256": sum, "file": local})
		if err != nil {
			return err
		}
		return writeJSON(inv.stdout, b)
	}
	fmt.Fprintf(inv.stdout, "read %s: version %d, %s into %s\n", ops[0], version, humanBytes(n), local)
	return nil
}
