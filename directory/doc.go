// Package directory is the agent's side of the distributed file system:
// it decides where a new file goes (placement on the ring of file servers,
// by the leader), moves a file's bytes straight between the client and the
// file servers (every replica written at once; reads fail over from one
// replica to the next mid-stream), and commits the metadata (create,
// update, lock, unlock, share, delete) through cluster.Propose. The bytes
// never pass through Raft or a second agent.
//
// The index itself lives in the FSM (fsm/fileservers, fsm/files,
// fsm/locks, fsm/shares); this package only reads it and proposes
// commands. The file servers' protocol is fileserver's; this package
// declares the little of it it uses (Copies).
package directory
