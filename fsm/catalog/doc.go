// Package catalog is the service table of custodes' replicated state: the
// instances, the commands that change them (register, update-instance,
// deregister, set-status), the rules a client's request must meet, and
// the table's section of the snapshot.
//
// It is pure on purpose: no Raft, no locks, no clock, no I/O, and it imports
// nothing else from custodes. Package fsm owns the one lock, decodes log
// entries, dispatches them here, turns the Effects a command returns into
// events and wakes watchers. Keeping the table pure is what lets it be
// tested by table tests alone and lets further tables (the file system's
// directory) sit beside it without fsm growing their logic.
//
// Everything here must be deterministic: a command's outcome depends only
// on the table and the request (whose ids and times the proposer stamped).
package catalog
