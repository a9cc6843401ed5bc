// Package e2e holds end-to-end tests that run the custodes binary as
// separate processes, each agent in its own network namespace on a bridge,
// so that real partitions (nftables drops at the bridge) can be injected
// while clients still reach every agent. Tests skip, saying why, where
// namespaces cannot be made (not root, no ip or nft).
package e2e
