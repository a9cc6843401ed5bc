// Package fileserver is the directory's file server (`custodes
// fileserver`, docs/DFS.md): it keeps copies of files' versions on disk,
// serves them over HTTP under the cluster key, gossips as role "file" and
// registers with the directory through an agent.
//
// Parts:
//
//   - store.go, chunks.go: the copies on disk. DIR/copies/<file-uuid>/<version>.data
//     holds the bytes, <version>.meta (JSON) their size, SHA-256, fence and
//     the CRC-32C (Castagnoli) of every 64 KiB chunk; DIR/copies/<file-uuid>/fence
//     the highest fence committed for the file. A put streams to DIR/tmp,
//     is fsync'd, renamed into place and the directory fsync'd. A read
//     checks every chunk's CRC before yielding its bytes.
//   - scrub.go: Verify re-reads a copy (CRCs, then the SHA-256); a scrub
//     does so for every copy every ScrubInterval, rate-limited, marking a
//     bad one corrupt (never served again).
//   - server.go: the HTTP protocol (GET /alive open, everything else
//     under the cluster key; PUT of a copy with a streamed signature).
//   - client.go: the other half, for agents (and for copy-to).
//   - fileserver.go: Start (listener, gossip, registration), Stop, Kill.
//
// Names on disk come only from a parsed UUID and a positive integer,
// never from a client's string. The package imports keyring, tlsutil and
// cluster/gossip of custodes' own: no Raft, no fsm.
package fileserver
