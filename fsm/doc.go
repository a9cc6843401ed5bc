// Package fsm owns the replicated state of custodes: the tables every agent
// holds an identical copy of, the commands that change them, and the
// raft.FSM that applies those commands in log order.
//
// Today the state has one table, the service catalog (instances keyed by id,
// unique by name and address). The distributed file system's index (file
// servers, files, locks) will become further tables in the same state and
// the same snapshot, so the snapshot format is versioned and sectioned.
//
// Rules that keep every replica identical:
//   - Apply reads nothing but the log entry and the current state: no clock,
//     no randomness, no I/O. Ids and times are stamped into the command by the
//     agent that proposes it.
//   - Commands are a MessageType byte followed by a JSON body. Type numbers are
//     append-only: never reuse or renumber one, old logs must still decode.
//   - Apply panics only on an entry it cannot decode (a corrupt or future log
//     would otherwise silently fork the replicas). Business outcomes such as
//     "not found" or "conflict" are returned as the response and turned back
//     into errors by the proposer.
//
// The package imports nothing else from custodes.
package fsm
