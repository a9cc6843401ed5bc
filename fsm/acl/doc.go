// Package acl is the users-and-tokens table of custodes' replicated
// state: who may do what, and by which token. It holds users (a name,
// roles, and the SHA-256 of their one token), whether the cluster's ACLs
// have been bootstrapped, the commands that change them (bootstrap,
// create-user, delete-user, set-token), the rules a request must meet,
// and the table's section of the snapshot.
//
// It never sees a token: the agent that mints one proposes only its hash,
// so no log entry, snapshot or replica holds anything that would let a
// reader act as a user.
//
// Like fsm/catalog it is pure on purpose: no Raft, no locks, no clock, no
// randomness, no I/O, and it imports nothing else from custodes. Package
// fsm owns the lock, dispatches log entries here and turns the answers
// into responses. Everything is deterministic: a command's outcome depends
// only on the table and the request.
package acl
