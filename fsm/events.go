package fsm

import (
	"github.com/hashicorp/raft"
)

// Event is one change to the replicated state, stamped with the Raft index
// of the entry that made it. Events are derived from the log alone, so
// every replica produces the same ones.
type Event struct {
	Index uint64 `json:"index"`
	// Type is registered, changed, removed, passing, critical, or
	// membership (a Raft configuration change).
	Type     string        `json:"type"`
	Instance *Instance     `json:"instance,omitempty"`
	Servers  []EventServer `json:"servers,omitempty"`
}

// EventServer is one server of a membership event's configuration.
type EventServer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
}

// Event types besides the instance changes.
const (
	EventRegistered = "registered"
	EventMembership = "membership"
)

// eventRingSize bounds the events kept in memory for streams to catch up.
const eventRingSize = 4096

func instanceEvent(index uint64, change Change, inst *Instance) Event {
	t := string(change)
	if change == Created {
		t = EventRegistered
	}
	return Event{Index: index, Type: t, Instance: inst}
}

func membershipEvent(l *raft.Log) Event {
	cfg := raft.DecodeConfiguration(l.Data)
	ev := Event{Index: l.Index, Type: EventMembership}
	for _, s := range cfg.Servers {
		ev.Servers = append(ev.Servers, EventServer{ID: string(s.ID), Address: string(s.Address), Suffrage: s.Suffrage.String()})
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
