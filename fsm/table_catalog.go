package fsm

import (
	"fmt"

	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/fsm/files"
)

// This file is the catalog's glue: how its commands enter the dispatch
// table and how its effects become events. The generic layers (fsm.go,
// events.go, snapshot.go) know nothing of these types.

// catalogRequest is what every catalog request type provides.
type catalogRequest[T any] interface {
	*T
	Validate(catalog.Limits) error
}

// catalogCommand makes the dispatch entry of one catalog command. id, when
// set, names the instance the command needs to exist (for Precheck).
func catalogCommand[T any, P catalogRequest[T]](
	apply func(*catalog.Table, uint64, P) (*catalog.Result, []catalog.Effect, error),
	id func(P) string,
) command {
	cmd := command{
		newRequest: func() any { return P(new(T)) },
		apply: func(f *FSM, index uint64, req any) (any, []Event) {
			res, effs, err := apply(f.catalog, index, req.(P))
			if err != nil {
				return err, nil // a business outcome, not a failure of the log
			}
			return res, catalogEvents(index, effs)
		},
		validate: func(f *FSM, req any) error {
			r, ok := req.(P)
			if !ok || r == nil {
				return invalid(fmt.Errorf("request is %T, want %T", req, P(nil)))
			}
			if err := r.Validate(f.limits); err != nil {
				return invalid(err)
			}
			return nil
		},
		newResult: func() any { return new(catalog.Result) },
	}
	if id != nil {
		cmd.precheck = func(f *FSM, req any) error {
			r, ok := req.(P)
			if !ok || r == nil {
				return invalid(fmt.Errorf("request is %T, want %T", req, P(nil)))
			}
			if _, ok := f.catalog.Get(id(r)); !ok {
				return ErrNotFound
			}
			return nil
		}
	}
	return cmd
}

// catalogEvents turns the table's effects into events: the payload is the
// stored instance (immutable; cloned on the way out), and the watch woken
// is its service's.
func catalogEvents(index uint64, effs []catalog.Effect) []Event {
	out := make([]Event, len(effs))
	for i, e := range effs {
		out[i] = Event{
			Index: index, Type: EventType(e.Change.EventType()),
			Key: catalog.WatchKey(e.Instance.Name), Field: catalog.EventField, Payload: e.Instance,
		}
	}
	return out
}

// clonePayload copies an event's payload for a reader, so no reader can
// reach the stored values. Payloads of other types are shared as they
// are never changed (a file server's payload is already a copy, made when
// the event was).
func clonePayload(p any) any {
	switch v := p.(type) {
	case *catalog.Instance:
		c := v.Clone()
		return &c
	case *files.File:
		c := v.Clone()
		return &c
	}
	return p
}
