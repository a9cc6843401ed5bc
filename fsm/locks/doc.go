// Package locks is the file locks table of the directory (the distributed
// file system's index) in custodes' replicated state: at most one lock
// per file, held by the hash of a token for a time, and each file's last
// fence.
//
// Every grant takes the file's last fence plus one, and the last fence is
// kept after an unlock or an expiry, so fences only grow: a file server
// refuses a copy whose fence is below the highest it has seen, which
// stops a writer whose lock expired while it was paused. (A deleted
// file's fence may go with it: its id is never used again.)
//
// Expiry is judged at the Time a command carries, stamped by the leader:
// a lock whose Expires is not after that time is free. The table never
// reads a clock; its reads return a lock as stored, expired or not.
//
// Like fsm/acl it is pure on purpose: no Raft, no locks of its own, no
// clock, no randomness, no I/O, and it imports nothing else from custodes.
package locks
