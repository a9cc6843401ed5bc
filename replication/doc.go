// Package replication keeps every file of the directory at the copies
// it wants (issue 10, docs/REPLICATION.md).
//
// plan.go is the planner: a pure function from the index's servers and
// queued files (and the copies already in flight) to the copies to make.
// It imports nothing of custodes, reads no clock and draws no random
// number: the same input always gives the same plan, so it is tested by
// tables and a new leader plans exactly as the old one would have. The
// leader's sweep (detect, plan, copy, commit) is built on it.
package replication
