// Package repltest holds the replication sweep's integration tests
// (issue 10, docs/REPLICATION.md): in-process clusters of three agents and
// four file servers (R = 2) under a cluster key, a sweep every 500 ms,
// file servers and agents killed and restarted, and every client call
// over real HTTP (agenttest). It has no code of its own.
package repltest
