package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// snapshot save and restore: the whole replicated state through the
// leader (GET and PUT /admin/snapshot), as `consul snapshot` does. The
// archive is opaque here and carries its own checksum, which the agent
// checks on restore; save writes it byte for byte.

func runSnapshot(inv *invocation, args []string) error {
	return inv.subcommand("snapshot", args, map[string]func(*invocation, []string) error{
		"save": snapshotSave, "restore": snapshotRestore,
	}, [][2]string{
		{"save", "save the whole replicated state to FILE (- for stdout)"},
		{"restore", "replace the whole replicated state with FILE's (- for stdin)"},
	})
}

func snapshotSave(inv *invocation, args []string) error {
	f := inv.newFlags("snapshot save", "[flags] FILE",
		"Save the whole replicated state, taken fresh on the leader, to FILE (- for stdout). It is written to a\n"+
			"temporary file beside FILE and renamed once complete. Needs a management token (or no ACLs).")
	idle := f.Duration("idle-timeout", defaultIdleTimeout, "give up when no data arrives for this long (0: never)")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	w := watchIdle(inv.ctx, *idle)
	defer w.stop()
	resp, err := c.do(w.ctx, request{method: http.MethodGet, path: "/admin/snapshot",
		header: http.Header{"Accept": {"application/octet-stream"}}})
	if err != nil {
		return w.explain(err)
	}
	defer resp.Body.Close()
	w.body(resp)
	index, _ := strconv.ParseUint(resp.Header.Get("X-Custodes-Index"), 10, 64)
	n, sum, err := inv.download(resp, ops[0], "snapshot", "")
	err = w.explain(err)
	if err != nil {
		return fmt.Errorf("snapshot: after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("snapshot: %d bytes of %d", n, resp.ContentLength)
	}
	out := inv.stdout
	if ops[0] == "-" {
		out = inv.stderr // stdout holds the archive
	}
	if f.json {
		b, err := json.Marshal(map[string]any{"index": index, "size": n, "sha256": sum, "file": ops[0]})
		if err != nil {
			return err
		}
		return writeJSON(out, b)
	}
	fmt.Fprintf(out, "saved the state at index %d to %s (%s)\n", index, ops[0], humanBytes(n))
	return nil
}

func snapshotRestore(inv *invocation, args []string) error {
	f := inv.newFlags("snapshot restore", "[flags] FILE",
		"Replace the whole replicated state with the one saved in FILE (- for stdin), through the leader.\n"+
			"Everything written since the snapshot was saved is lost. Needs a management token (or no ACLs).")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	// A restore answered 503 because leadership moved while it committed
	// (or there was no leader yet) is sent again: restoring the same
	// archive twice leaves the same state (docs/ARCHITECTURE.md). Stdin
	// cannot be read twice.
	var raw []byte
	for try := 1; ; try++ {
		raw, _, err = inv.upload(c, request{method: http.MethodPut, path: "/admin/snapshot",
			header: http.Header{"Content-Type": {"application/octet-stream"}}}, ops[0], "restore")
		if err == nil || try == restoreTries || ops[0] == "-" || !restoreAgain(err) {
			break
		}
		fmt.Fprintf(inv.stderr, "custodes snapshot restore: %v; sending it again\n", err)
		select {
		case <-inv.ctx.Done():
			return inv.ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	var ans struct {
		Index         uint64 `json:"index"`
		SnapshotIndex uint64 `json:"snapshot_index"`
		Leader        string `json:"leader"`
	}
	if err := decode(raw, &ans, "/admin/snapshot"); err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "restored %s: the state of index %d, now at index %d (by %s)\n", ops[0], ans.SnapshotIndex, ans.Index, orDash(ans.Leader))
	return nil
}

// restoreTries is how many times a restore is sent at most.
const restoreTries = 3

// restoreAgain reports whether a failed restore may be sent again: the
// leader was lost while it committed, or none was known yet. Any other
// refusal (a bad archive, a follower without the key to forward it)
// would only be refused again.
func restoreAgain(err error) bool {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		return false
	}
	return strings.Contains(ae.Msg, "outcome is unknown") || strings.HasPrefix(ae.Msg, "no cluster leader")
}
