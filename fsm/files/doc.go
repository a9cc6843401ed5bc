// Package files is the files table of the directory (the distributed file
// system's index) in custodes' replicated state: every file's id, owner,
// name, current version, size, SHA-256, the servers holding its copies
// (primary first) and how many copies it should have.
//
// Files are found by id and by (owner, name). The table may hold millions
// of them, so a file costs one immutable struct and two map entries whose
// keys share the struct's own strings; owners and replica ids are
// interned, as a few users and servers recur across all files. Stored
// files are never changed in place: a change stores a new one, so a clone
// of the table (a snapshot's) may share them.
//
// Like fsm/acl it is pure on purpose: no Raft, no locks, no clock, no
// randomness, no I/O, and it imports nothing else from custodes (the
// checks that need other tables, registered servers and the lock, are
// fsm's glue). Times come in the requests, stamped by the leader.
package files
