package agent

// logKeyState says at start whether the cluster is protected by a key. An
// agent without one works as before, but an operator must see that anyone
// who reaches its ports can join the gossip pool, call the agent-to-agent
// routes and decommission agents.
func logKeyState(cfg Config) {
	log := cfg.Cluster.Logger
	if len(cfg.Cluster.Keys) == 0 {
		log.Warn("no cluster key (--encrypt, --encrypt-file or CUSTODES_ENCRYPT): gossip is unencrypted and unauthenticated, " +
			"agent-to-agent calls (/internal/) are unauthenticated, and the admin routes /admin/leave and " +
			"/admin/raft/remove-peer are open to anyone who reaches the HTTP port; generate a key with `custodes keygen`")
		return
	}
	log.Info("cluster key set: gossip is encrypted, agent-to-agent calls and admin routes need the key",
		"keys", len(cfg.Cluster.Keys))
}
