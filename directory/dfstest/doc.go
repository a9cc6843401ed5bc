// Package dfstest holds the file system's integration tests: one
// in-process cluster of three agents and three file servers under a
// cluster key, ACLs bootstrapped, users, and every call over real HTTP
// (agenttest). It has no code of its own.
package dfstest
