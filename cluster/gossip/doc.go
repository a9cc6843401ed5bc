// Package gossip is custodes' membership pool over hashicorp/memberlist:
// who is alive, dead or gone, and where each member's Raft and HTTP
// endpoints are (from the metadata each member publishes). It runs no
// Raft: registry agents join it through cluster, and other processes (file
// servers) join it on their own with a role of their own. With a cluster
// key every packet and stream is encrypted and authenticated, and members
// without the key cannot join.
package gossip
