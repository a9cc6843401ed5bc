// Package replication keeps every file of the directory at the copies
// it wants (issue 10, docs/REPLICATION.md).
//
// plan.go is the planner: a pure function from the index's servers and
// queued files (and the copies already in flight) to the copies to make.
// It imports nothing of custodes, reads no clock and draws no random
// number: the same input always gives the same plan, so it is tested by
// tables and a new leader plans exactly as the old one would have.
// reconcile.go is as pure: what to do with a returning server's copies.
//
// sweep.go is the leader's task built on them (started by OnLeadership,
// stopped when leadership ends): confirm a dead server by probing it,
// reconcile servers that came back, make the planned copies (the source
// streams to the target, which checks the SHA-256), commit each new
// replica list through Raft for the version copied, finish drains. It
// declares the little of the file servers' protocol it uses
// (FileServers).
package replication
