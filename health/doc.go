// Package health watches every registered service instance that has a
// check, so the catalog tells the truth about who is alive.
//
// HTTP checks are spread over the live registry agents: each instance's
// check is owned by one agent, chosen by rendezvous hashing over the
// registry agents gossip sees alive, so checking grows with the cluster and
// moves within one interval when an agent dies. Only transitions
// (passing <-> critical) go through Raft, never every poll.
//
// Leader-only work (TTL deadlines renewed by heartbeats, deregistering
// instances critical for longer than deregister_after, and calling rectify
// webhooks once per transition) runs under the leader's context.
package health
