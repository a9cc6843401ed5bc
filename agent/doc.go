// Package agent assembles one custodes registry agent: the HTTP listener,
// the cluster layer (Raft, gossip, leadership) and the api router on top,
// with start and stop in the right order. cmd/custodes and the in-process
// test harness (agent/agenttest) both build agents through it.
package agent
