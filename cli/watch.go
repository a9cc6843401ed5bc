package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// follow holds what watch and events share: when to stop, and how to wait
// between attempts when the agent fails.
type follow struct {
	count   int
	timeout time.Duration
}

func (fl *follow) bind(f *cmdFlags, what string) {
	f.IntVar(&fl.count, "count", 0, "stop after this many "+what+" (0: until interrupted); exit 1 if --timeout comes first")
	f.DurationVar(&fl.timeout, "timeout", 0, "stop after this long (0: until interrupted)")
}

// context is the command's context bounded by --timeout.
func (fl *follow) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if fl.timeout > 0 {
		return context.WithTimeout(ctx, fl.timeout)
	}
	return context.WithCancel(ctx)
}

// end is how a follow ended when its context did: success when
// interrupted or when --timeout was all that was asked, an error when
// --count changes were asked and fewer came.
func (fl *follow) end(parent context.Context, seen int, what string) error {
	if fl.count > 0 && seen < fl.count && parent.Err() == nil {
		return fmt.Errorf("%d of %d %s within %s", seen, fl.count, what, fl.timeout)
	}
	return nil
}

// retryable reports whether a failed call is worth trying again: the
// agent could not be reached or was unavailable (no leader, restarting),
// not a refusal of the request itself.
func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
	}
	return true
}

// backoff waits before the next attempt: 250 ms doubling to 5 s.
type backoff struct{ d time.Duration }

func (b *backoff) wait(ctx context.Context) {
	b.d = min(max(2*b.d, 250*time.Millisecond), 5*time.Second)
	select {
	case <-ctx.Done():
	case <-time.After(b.d):
	}
}

func (b *backoff) reset() { b.d = 0 }

// watchWait is each blocking query's wait (the API caps it at 5 minutes).
const watchWait = 5 * time.Minute

func runWatch(inv *invocation, args []string) error {
	f := inv.newFlags("watch", "[flags] NAME",
		"Print a service's instances, then every change to them as it happens (blocking queries with ?index=&wait=):\n"+
			"one line per instance: the index, what happened (present, registered, changed, passing, critical, removed),\n"+
			"the id, the address and the status. -json prints each answer of GET /service/NAME?all=true on one line\n"+
			"(a service with no instances as {\"name\",\"instances\":[],\"index\"}).")
	var fl follow
	fl.bind(f, "changes")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	ctx, cancel := fl.context(inv.ctx)
	defer cancel()
	name := ops[0]
	var (
		index   uint64
		prev    map[string]instanceView
		changes int
		b       backoff
	)
	for {
		ans, err := watchOnce(ctx, c, name, index)
		if ctx.Err() != nil {
			return fl.end(inv.ctx, changes, "changes")
		}
		if err != nil {
			if !retryable(err) {
				return err
			}
			fmt.Fprintf(inv.stderr, "custodes watch: %v (trying again)\n", err)
			b.wait(ctx)
			continue
		}
		b.reset()
		first := prev == nil
		moved := ans.Index != index
		index = ans.Index
		if !first && !moved {
			continue // the wait ended with nothing new
		}
		lines := watchDiff(prev, ans.Instances, first)
		prev = map[string]instanceView{}
		for _, in := range ans.Instances {
			prev[in.ID] = in
		}
		if !first && len(lines) == 0 {
			continue
		}
		if f.json {
			if err := writeJSONLine(inv.stdout, ans.raw); err != nil {
				return err
			}
		} else {
			for _, l := range lines {
				fmt.Fprintf(inv.stdout, "%-8d %-10s %-36s %-21s %s\n", index, l.what, l.in.ID, l.in.Address, l.in.Status)
			}
			if first && len(lines) == 0 {
				fmt.Fprintf(inv.stdout, "%-8d %-10s service %q has no instances\n", index, "empty", name)
			}
		}
		if !first {
			changes++
			if fl.count > 0 && changes >= fl.count {
				return nil
			}
		}
	}
}

// watchAnswer is one lookup's result.
type watchAnswer struct {
	Index     uint64
	Instances []instanceView
	raw       []byte
}

// watchOnce makes one blocking lookup: after index (0: at once).
func watchOnce(ctx context.Context, c *client, name string, index uint64) (watchAnswer, error) {
	q := url.Values{"all": {"true"}}
	if index > 0 {
		q.Set("index", strconv.FormatUint(index, 10))
		q.Set("wait", watchWait.String())
	}
	// The call may block for the whole wait: bound it by that, plus room.
	ctx, cancel := context.WithTimeout(ctx, watchWait+callTimeout)
	defer cancel()
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/service/" + name, query: q,
		ok: []int{http.StatusNotFound, http.StatusServiceUnavailable}})
	if err != nil {
		return watchAnswer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return watchAnswer{}, err
	}
	var body struct {
		Error     string         `json:"error"`
		Instances []instanceView `json:"instances"`
	}
	_ = json.Unmarshal(raw, &body)
	ans := watchAnswer{Instances: body.Instances, raw: raw}
	ans.Index, _ = strconv.ParseUint(resp.Header.Get("X-Custodes-Index"), 10, 64)
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && body.Instances == nil:
		// Not "every instance critical" (that carries them) but the agent
		// unable to answer: no leader, say.
		return watchAnswer{}, &apiError{Status: resp.StatusCode, Msg: orDash(body.Error)}
	case resp.StatusCode == http.StatusNotFound && ans.Index == 0:
		// No index: not the lookup's "no instances" but a refusal.
		return watchAnswer{}, &apiError{Status: resp.StatusCode, Msg: orDash(body.Error)}
	case resp.StatusCode == http.StatusNotFound:
		ans.Instances = []instanceView{}
		ans.raw, _ = json.Marshal(map[string]any{"name": name, "instances": []any{}, "index": ans.Index})
	}
	return ans, nil
}

type watchLine struct {
	what string
	in   instanceView
}

// watchDiff says what changed from prev to now, instance by instance: on
// the first answer every instance is "present".
func watchDiff(prev map[string]instanceView, now []instanceView, first bool) []watchLine {
	var out []watchLine
	seen := map[string]bool{}
	for _, in := range now {
		seen[in.ID] = true
		old, ok := prev[in.ID]
		switch {
		case first:
			out = append(out, watchLine{"present", in})
		case !ok:
			out = append(out, watchLine{"registered", in})
		case old.Status != in.Status:
			out = append(out, watchLine{in.Status, in})
		case old.ModifyIndex != in.ModifyIndex:
			out = append(out, watchLine{"changed", in})
		}
	}
	var gone []watchLine
	for id, in := range prev {
		if !seen[id] {
			in.Status = "-"
			gone = append(gone, watchLine{"removed", in})
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].in.ID < gone[j].in.ID })
	return append(out, gone...)
}
