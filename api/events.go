package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/labstack/echo/v4"
)

// heartbeat handles PUT /instance/{id}/heartbeat (the leader keeps the
// TTL deadlines, so it renews them, wherever it is).
func (s *Server) heartbeat(c echo.Context) error {
	inst, by, err := s.health.Heartbeat(c.Request().Context(), c.Param("id"))
	ledBy(c, by)
	if err != nil {
		if errors.Is(err, fsm.ErrNotFound) {
			return fmt.Errorf("instance %q: %w", c.Param("id"), fsm.ErrNotFound)
		}
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": inst.ID, "status": inst.Status})
}

// keepAlive is how often an idle event stream sends a comment line, so
// proxies and clients see the connection is alive.
const keepAlive = 15 * time.Second

// events handles GET /events: a server-sent-events stream of every change
// to the replicated state, each with its Raft index as the event id. A
// client resumes with ?index=N or the Last-Event-ID header; if events it
// asked for are no longer kept it gets a "reset" event and should re-read
// the catalog.
func (s *Server) events(c echo.Context) error {
	after := uint64(0)
	raw := c.QueryParam("index")
	if raw == "" {
		raw = c.Request().Header.Get("Last-Event-ID")
	}
	if raw != "" {
		v, err := strconv.ParseUint(raw, 10, 64)
		if err != nil {
			return invalidf("index %q is not a non-negative integer", raw)
		}
		after = v
	}
	if err := s.watchers.acquire(); err != nil {
		return err
	}
	defer s.watchers.release()
	if err := s.consistentRead(c); err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	ctx := c.Request().Context()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		if !s.tokenStillValid(c) {
			return nil // the user was deleted or the token rotated: the stream ends
		}
		// Each round of writes gets a full write timeout: a stream lives
		// as long as its client reads, and no longer.
		s.extendWrite(c, 0)
		evs, gap, more := s.cluster.FSM().Events(after)
		if gap {
			after = s.cluster.FSM().AppliedIndex()
			fmt.Fprintf(w, "id: %d\nevent: reset\ndata: {\"index\":%d}\n\n", after, after)
			w.Flush()
			continue
		}
		for i, ev := range evs {
			// Commands of one batch entry share its index: only the last
			// event of an index carries the id, so a client cut off in the
			// middle resumes before the entry and sees all of it again.
			last := i == len(evs)-1 || evs[i+1].Index != ev.Index
			if err := writeEvent(w, ev, last); err != nil {
				return nil
			}
			after = ev.Index
		}
		if len(evs) > 0 {
			w.Flush()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-tick.C:
			s.extendWrite(c, 0)
			fmt.Fprint(w, ": keep-alive\n\n")
			w.Flush()
		case <-more:
		}
	}
}

// eventView is an event as the stream shows it.
type eventView struct {
	Index    uint64            `json:"index"`
	Type     string            `json:"type"`
	Instance *instanceView     `json:"instance,omitempty"`
	Servers  []fsm.EventServer `json:"servers,omitempty"`
	// FileServer is a file server's registration or state change.
	FileServer *fileservers.Server `json:"file_server,omitempty"`
	// Change is what happened to a file (created, updated, deleted,
	// replicas). The file itself is not shown: the stream's readers
	// need services:read, not access to the file.
	Change string `json:"change,omitempty"`
}

func writeEvent(w *echo.Response, ev fsm.Event, withID bool) error {
	v := eventView{Index: ev.Index, Type: string(ev.Type), Servers: ev.Servers()}
	switch p := ev.Payload.(type) {
	case *catalog.Instance:
		iv := viewOf(*p)
		v.Instance = &iv
	case *fileservers.Server:
		v.FileServer = p
	}
	if ev.Type == fsm.EventFile {
		v.Change = ev.Field
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if withID {
		_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Index, ev.Type, data)
	} else {
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, data)
	}
	return err
}
