// Package e2e holds end-to-end tests that run the custodes binary as
// separate processes, each agent in its own network namespace on a bridge,
// so that real partitions (nftables drops at the bridge) can be injected
// while clients still reach every agent, and so that the Vagrantfile's
// provisioning scripts (scripts/provision) run for each would-be machine
// at its own address, with the units they write started as written.
// `vagrant validate` checks the Vagrantfile where vagrant is installed.
// Tests skip, saying why, where namespaces cannot be made (not root, no ip
// or nft) or vagrant is missing.
package e2e
