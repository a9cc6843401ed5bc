package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id    string // "" when the event carried no id line
	event string
	data  string
}

// sseReader parses a text/event-stream (the subset /events sends, and the
// rest of the format's lines ignored as the standard says).
type sseReader struct{ r *bufio.Reader }

// next returns the next event, or io.EOF at the end of the stream.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []string
	got := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return sseEvent{}, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return sseEvent{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if !got {
				continue
			}
			ev.data = strings.Join(data, "\n")
			return ev, nil
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: the keep-alive
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id, got = value, true
		case "event":
			ev.event, got = value, true
		case "data":
			data, got = append(data, value), true
		}
	}
}

// eventView is the part of an event's data the text line shows.
type eventView struct {
	Index    uint64        `json:"index"`
	Type     string        `json:"type"`
	Instance *instanceView `json:"instance"`
	Servers  []struct {
		ID       string `json:"id"`
		Suffrage string `json:"suffrage"`
	} `json:"servers"`
	FileServer *struct {
		ID      string `json:"id"`
		Address string `json:"address"`
		State   string `json:"state"`
	} `json:"file_server"`
	Change string `json:"change"`
}

// eventLine renders one event for people.
func eventLine(ev sseEvent) string {
	var v eventView
	if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
		return fmt.Sprintf("%-8s %-12s %s", "-", ev.event, ev.data)
	}
	kind := ev.event
	if kind == "" {
		kind = v.Type
	}
	detail := ""
	switch {
	case kind == "reset":
		detail = "the agent no longer keeps the events asked for: re-read the state"
	case v.Instance != nil:
		in := v.Instance
		detail = fmt.Sprintf("%s %s %s %s", in.Name, in.ID, in.Address, in.Status)
	case v.FileServer != nil:
		detail = fmt.Sprintf("%s %s %s", v.FileServer.ID, v.FileServer.Address, v.FileServer.State)
	case len(v.Servers) > 0:
		parts := make([]string, len(v.Servers))
		for i, s := range v.Servers {
			parts[i] = s.ID + " (" + strings.ToLower(s.Suffrage) + ")"
		}
		detail = strings.Join(parts, ", ")
	case v.Change != "":
		detail = v.Change
	}
	return strings.TrimRight(fmt.Sprintf("%-8d %-12s %s", v.Index, kind, detail), " ")
}

func runEvents(inv *invocation, args []string) error {
	f := inv.newFlags("events", "[flags]",
		"Follow the agent's event stream (GET /events): one line per event, its index, type and what it is about.\n"+
			"-json prints each event's JSON on one line. It resumes where it was if the stream breaks.")
	var fl follow
	fl.bind(f, "events")
	from := f.Int64("index", -1, "print the events after this Raft index; 0: every event the agent still keeps; -1: only new ones")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	ctx, cancel := fl.context(inv.ctx)
	defer cancel()
	after := uint64(max(*from, 0))
	var b backoff
	if *from < 0 {
		// "From now": the index the agent has applied.
		for {
			_, h, _, err := c.call(ctx, request{method: http.MethodGet, path: "/services", query: url.Values{"per_page": {"1"}}})
			if err == nil {
				after, _ = strconv.ParseUint(h.Get("X-Custodes-Index"), 10, 64)
				break
			}
			if ctx.Err() != nil {
				return fl.end(inv.ctx, 0, "events")
			}
			if !retryable(err) {
				return err
			}
			fmt.Fprintf(inv.stderr, "custodes events: %v (trying again)\n", err)
			b.wait(ctx)
		}
	}
	seen := 0
	for {
		fmt.Fprintf(inv.stderr, "custodes events: following events after index %d\n", after)
		err := followEvents(ctx, c, &after, func(ev sseEvent) error {
			if f.json {
				if err := writeJSONLine(inv.stdout, []byte(ev.data)); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(inv.stdout, eventLine(ev))
			}
			seen++
			if fl.count > 0 && seen >= fl.count {
				return errEnough
			}
			return nil
		})
		switch {
		case errors.Is(err, errEnough):
			return nil
		case ctx.Err() != nil:
			return fl.end(inv.ctx, seen, "events")
		case err != nil && !retryable(err):
			return err
		case err == nil:
			err = errors.New("the agent ended the stream")
		}
		fmt.Fprintf(inv.stderr, "custodes events: %v (resuming)\n", err)
		b.wait(ctx)
	}
}

// errEnough ends a stream once --count events were printed.
var errEnough = errors.New("enough events")

// followEvents reads one connection's events, calling each with one;
// *after follows the ids, so a new connection resumes where this ended.
func followEvents(ctx context.Context, c *client, after *uint64, each func(sseEvent) error) error {
	q := url.Values{"index": {strconv.FormatUint(*after, 10)}}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/events", query: q,
		header: http.Header{"Accept": {"text/event-stream"}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	r := &sseReader{r: bufio.NewReader(resp.Body)}
	for {
		ev, err := r.next()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := each(ev); err != nil {
			return err
		}
		if ev.id != "" {
			if id, err := strconv.ParseUint(ev.id, 10, 64); err == nil {
				*after = id
			}
		}
	}
}
