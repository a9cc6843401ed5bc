// Package fileservers is the file servers table of the directory (the
// distributed file system's index) in custodes' replicated state: each
// server's id, address, ring position, state and the copies it holds.
//
// Ring is the order of first registration (1, 2, 3…), taken from a
// counter the table keeps (and persists in its section) so a position is
// never reused, even after a server left: placement walks the ring, and
// a reused position would reshuffle where files go. Files and Bytes count
// the copies the directory placed on the server; fsm's glue adjusts them
// as files are created, updated and deleted (AddCopy, RemoveCopy).
//
// Like fsm/acl it is pure on purpose: no Raft, no locks, no clock, no
// randomness, no I/O, and it imports nothing else from custodes. A
// command's outcome depends only on the table and the request.
package fileservers
