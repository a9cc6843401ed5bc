package fsm

import (
	"fmt"

	"github.com/custodes/custodes/fsm/acl"
)

// This file is the ACL table's glue: how its commands enter the dispatch
// table. ACL changes make no events (nothing about users or token hashes
// belongs in /events) and wake no watches.

// aclRequest is what every ACL request type provides.
type aclRequest[T any] interface {
	*T
	Validate() error
}

// aclCommand makes the dispatch entry of one ACL command. check answers
// from the table what would certainly fail; it is the command's Precheck,
// so a refused ACL write (a second bootstrap, a taken name) never becomes
// a Raft entry.
func aclCommand[T any, P aclRequest[T]](
	apply func(*acl.Table, uint64, P) (*acl.Result, error),
	check func(*acl.Table, P) error,
) command {
	typed := func(req any) (P, error) {
		r, ok := req.(P)
		if !ok || r == nil {
			return nil, invalid(fmt.Errorf("request is %T, want %T", req, P(nil)))
		}
		return r, nil
	}
	return command{
		privileged: true,
		newRequest: func() any { return P(new(T)) },
		apply: func(f *FSM, index uint64, req any) (any, []Event) {
			res, err := apply(f.acl, index, req.(P))
			if err != nil {
				return err, nil // a business outcome, not a failure of the log
			}
			return res, nil
		},
		validate: func(f *FSM, req any) error {
			r, err := typed(req)
			if err != nil {
				return err
			}
			if err := r.Validate(); err != nil {
				return invalid(err)
			}
			return nil
		},
		precheck: func(f *FSM, req any) error {
			r, err := typed(req)
			if err != nil {
				return err
			}
			return check(f.acl, r)
		},
		newResult: func() any { return new(acl.Result) },
	}
}
