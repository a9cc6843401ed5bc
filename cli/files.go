package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The file system's small calls: ls, rm, lock, unlock, share, stat
// (transfer.go has put and get). Every one needs a user's token.

func runFiles(inv *invocation, args []string) error {
	return inv.subcommand("files", args, map[string]func(*invocation, []string) error{
		"ls": filesLs, "put": filesPut, "get": filesGet, "rm": filesRm,
		"lock": filesLock, "unlock": filesUnlock, "share": filesShare, "stat": filesStat,
	}, [][2]string{
		{"ls", "list the files you own or were shared"},
		{"put", "write a local file (or stdin) as NAME"},
		{"get", "read NAME into a local file (or stdout)"},
		{"rm", "delete one of your files"},
		{"lock", "take a file's lock; prints its token"},
		{"unlock", "give a lock back"},
		{"share", "grant a user read or write access (or none)"},
		{"stat", "a file's version, size, checksum and replicas"},
	})
}

// fileQuery is ?name=&owner= of the routes that name a file.
func fileQuery(name, owner string) url.Values {
	q := url.Values{"name": {name}}
	if owner != "" {
		q.Set("owner", owner)
	}
	return q
}

func filesLs(inv *invocation, args []string) error {
	f := inv.newFlags("files ls", "[flags]", "List the files you own and those shared with you.")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var ans struct {
		Files []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Owner   string `json:"owner"`
			Version uint64 `json:"version"`
			Size    int64  `json:"size"`
			SHA256  string `json:"sha256"`
			Access  string `json:"access"`
		} `json:"files"`
	}
	if done, err := f.get(inv, "/all", nil, &ans); done || err != nil {
		return err
	}
	list := ans.Files
	sort.Slice(list, func(i, j int) bool {
		if list[i].Owner != list[j].Owner {
			return list[i].Owner < list[j].Owner
		}
		return list[i].Name < list[j].Name
	})
	rows := make([][]string, len(list))
	for i, fl := range list {
		rows[i] = []string{fl.Name, fl.Owner, fl.Access, strconv.FormatUint(fl.Version, 10), humanBytes(fl.Size), short(fl.SHA256, 12)}
	}
	return writeTable(inv.stdout, []string{"NAME", "OWNER", "ACCESS", "VERSION", "SIZE", "SHA256"}, rows)
}

func filesRm(inv *invocation, args []string) error {
	f := inv.newFlags("files rm", "[flags] NAME", "Delete one of your files (its copies leave the file servers afterwards).")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	if done, err := f.send(inv, http.MethodDelete, "/file", url.Values{"name": {ops[0]}}, nil, nil); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "deleted %s\n", ops[0])
	return nil
}

func filesLock(inv *invocation, args []string) error {
	f := inv.newFlags("files lock", "[flags] NAME",
		"Take the lock of a file for --ttl. Prints the lock's token on stdout (it is shown once); give it to\n"+
			"`files put --lock-token` to update the file and to `files unlock`.")
	owner := f.String("owner", "", "the file's owner, when it is another user's file shared with you")
	ttl := f.Duration("ttl", 30*time.Second, "how long the lock holds")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	if *ttl <= 0 {
		return f.usagef("--ttl must be positive")
	}
	q := fileQuery(ops[0], *owner)
	q.Set("ttl", ttl.String())
	var g struct {
		Token   string    `json:"token"`
		Fence   uint64    `json:"fence"`
		Expires time.Time `json:"expires"`
	}
	if done, err := f.send(inv, http.MethodPost, "/lock", q, nil, &g); done || err != nil {
		return err
	}
	fmt.Fprintln(inv.stdout, g.Token)
	fmt.Fprintf(inv.stderr, "locked %s: fence %d, expires %s\n", ops[0], g.Fence, g.Expires.Local().Format(time.RFC3339))
	return nil
}

// lockToken is --lock-token, else CUSTODES_LOCK_TOKEN.
func lockToken(inv *invocation, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return strings.TrimSpace(inv.getenv(EnvLockToken))
}

func filesUnlock(inv *invocation, args []string) error {
	f := inv.newFlags("files unlock", "[flags] NAME --lock-token TOKEN", "Give back the lock of a file.")
	owner := f.String("owner", "", "the file's owner, when it is another user's file shared with you")
	tok := f.String("lock-token", "", "the token `files lock` printed (default $"+EnvLockToken+")")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	token := lockToken(inv, *tok)
	if token == "" {
		return f.usagef("--lock-token is required")
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	raw, _, _, err := c.call(inv.ctx, request{method: http.MethodPost, path: "/unlock", query: fileQuery(ops[0], *owner),
		header: http.Header{"X-Lock-Token": {token}}})
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	fmt.Fprintf(inv.stdout, "unlocked %s\n", ops[0])
	return nil
}

func filesShare(inv *invocation, args []string) error {
	f := inv.newFlags("files share", "[flags] NAME USER read|write|none",
		"Grant USER read or write access to one of your files, or take it back with none.")
	ops, err := f.operands(args, 3, 3)
	if err != nil {
		return err
	}
	switch ops[2] {
	case "read", "write", "none":
	default:
		return f.usagef("mode %q: read, write or none", ops[2])
	}
	if done, err := f.send(inv, http.MethodPost, "/share", nil, map[string]string{"name": ops[0], "with": ops[1], "mode": ops[2]}, nil); done || err != nil {
		return err
	}
	if ops[2] == "none" {
		fmt.Fprintf(inv.stdout, "%s is no longer shared with %s\n", ops[0], ops[1])
	} else {
		fmt.Fprintf(inv.stdout, "shared %s with %s (%s)\n", ops[0], ops[1], ops[2])
	}
	return nil
}

func filesStat(inv *invocation, args []string) error {
	f := inv.newFlags("files stat", "[flags] NAME", "Show a file: id, owner, version, size, SHA-256, your access, and each replica's state.")
	owner := f.String("owner", "", "the file's owner, when it is another user's file shared with you")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	var st struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Owner    string `json:"owner"`
		Version  uint64 `json:"version"`
		Size     int64  `json:"size"`
		SHA256   string `json:"sha256"`
		Access   string `json:"access"`
		Replicas []struct {
			Server  string `json:"server"`
			Address string `json:"address"`
			State   string `json:"state"`
		} `json:"replica_states"`
	}
	if done, err := f.get(inv, "/stat", fileQuery(ops[0], *owner), &st); done || err != nil {
		return err
	}
	if err := writeFields(inv.stdout, [][2]string{
		{"name", st.Name}, {"owner", st.Owner}, {"id", st.ID}, {"version", strconv.FormatUint(st.Version, 10)},
		{"size", fmt.Sprintf("%d (%s)", st.Size, humanBytes(st.Size))}, {"sha256", st.SHA256}, {"access", st.Access},
	}); err != nil {
		return err
	}
	fmt.Fprintln(inv.stdout)
	rows := make([][]string, len(st.Replicas))
	for i, r := range st.Replicas {
		rows[i] = []string{r.Server, r.Address, r.State}
	}
	return writeTable(inv.stdout, []string{"REPLICA", "ADDRESS", "STATE"}, rows)
}
