// Package shares is the file shares table of the directory (the
// distributed file system's index) in custodes' replicated state: which
// user may read or write which file besides its owner, indexed by file
// (a deletion drops a file's shares) and by user (a user's listing).
//
// Like fsm/acl it is pure on purpose: no Raft, no locks, no clock, no
// randomness, no I/O, and it imports nothing else from custodes. Whether
// the file exists, who owns it and whether the user exists are fsm's
// glue's checks, against the files and ACL tables.
package shares
