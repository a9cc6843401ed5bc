package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/raft"
)

// EventType names what an event records. Tables choose their own (the
// catalog's are registered, changed, removed, passing and critical);
// fsm's own is membership.
type EventType string

// EventMembership is a Raft configuration change.
const EventMembership EventType = "membership"

// Event is one change to the replicated state, stamped with the Raft index
// of the entry that made it. Events are derived from the log alone, so
// every replica produces the same ones. fsm does not know the payloads:
// each table chooses its payload type, the JSON field that carries it, and
// the watch key a change wakes.
type Event struct {
	Index uint64
	Type  EventType
	// Key is the watch woken by this change ("" wakes none), e.g.
	// "service/web".
	Key string
	// Field is the JSON field name of Payload, e.g. "instance".
	Field string
	// Payload is what changed, e.g. a *catalog.Instance; readers take it
	// with a type assertion. Nil for none.
	Payload any
}

// MarshalJSON writes {"index":..,"type":..,FIELD:PAYLOAD}, the payload
// left out when nil, as the stream has always shown events.
func (e Event) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"index":%d,"type":`, e.Index)
	t, err := json.Marshal(string(e.Type))
	if err != nil {
		return nil, err
	}
	b.Write(t)
	if e.Payload != nil && e.Field != "" {
		f, err := json.Marshal(e.Field)
		if err != nil {
			return nil, err
		}
		p, err := json.Marshal(e.Payload)
		if err != nil {
			return nil, err
		}
		b.WriteByte(',')
		b.Write(f)
		b.WriteByte(':')
		b.Write(p)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// EventServer is one server of a membership event's configuration.
type EventServer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
}

// Servers returns a membership event's configuration (nil for others).
func (e Event) Servers() []EventServer {
	s, _ := e.Payload.([]EventServer)
	return s
}

// eventRingSize bounds the events kept in memory for streams to catch up.
const eventRingSize = 4096

func membershipEvent(l *raft.Log) Event {
	cfg := raft.DecodeConfiguration(l.Data)
	ev := Event{Index: l.Index, Type: EventMembership}
	var servers []EventServer
	for _, s := range cfg.Servers {
		servers = append(servers, EventServer{ID: string(s.ID), Address: string(s.Address), Suffrage: s.Suffrage.String()})
	}
	if len(servers) > 0 { // as "omitempty" did
		ev.Field, ev.Payload = "servers", servers
	}
	return ev
}

// eventRing keeps the latest events. floor is the index at or below which
// events may be missing (evicted, or before a restore): a reader asking for
// events after an index below floor has a gap and must resynchronise.
type eventRing struct {
	buf   []Event
	start int
	n     int
	floor uint64
}

func newEventRing(size int) *eventRing { return &eventRing{buf: make([]Event, size)} }

func (r *eventRing) add(ev Event) {
	if r.n == len(r.buf) {
		r.floor = max(r.floor, r.buf[r.start].Index)
		r.start = (r.start + 1) % len(r.buf)
		r.n--
	}
	r.buf[(r.start+r.n)%len(r.buf)] = ev
	r.n++
}

// since returns the events with Index > after, and whether some may be
// missing before them.
func (r *eventRing) since(after uint64) ([]Event, bool) {
	var out []Event
	for i := range r.n {
		ev := r.buf[(r.start+i)%len(r.buf)]
		if ev.Index > after {
			out = append(out, ev)
		}
	}
	return out, after < r.floor
}

// reset drops every event: the state was replaced by a snapshot at index.
func (r *eventRing) reset(index uint64) {
	r.start, r.n, r.floor = 0, 0, index
	clear(r.buf)
}
