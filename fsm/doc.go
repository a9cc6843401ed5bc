// Package fsm owns the replicated state of custodes: the raft.FSM that
// applies commands in log order, the one lock over every table, the
// dispatch from message type to table, events, watches, the applied-index
// wait and the snapshot.
//
// The tables themselves are pure sub-packages (today fsm/catalog, the
// service table, and fsm/acl, users and their token hashes; the file
// system's directory comes next). A table holds
// its rows, applies its commands and returns typed effects, and knows no
// lock, clock or Raft. fsm stays generic: Event carries a table's payload
// under the JSON field the table chooses, watches are keyed by strings the
// table chooses ("service/web"), and the snapshot holds one section per
// table (version 2; version 1 snapshots still restore). The glue that
// names a table's types lives in few files: command.go (the one list of
// message type numbers and the dispatch table), table_catalog.go,
// read_catalog.go, table_acl.go, read_acl.go and errors.go (every business sentinel with its wire
// name).
//
// The boundary for commands from outside the process: DecodeCommand
// (strict decoding), Validate (the same rules and messages the public API
// applies, with the limits of Config), Precheck (what would certainly fail
// against the current state), Stamper (ids and times only the leader
// decides) and DecodeResult.
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
// The package imports nothing else from custodes but its tables.
package fsm
