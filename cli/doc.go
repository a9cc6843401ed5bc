// Package cli owns the operators' client subcommands of the custodes
// binary: members, raft, health, services, register, deregister,
// heartbeat, watch, events, files, dfs, users, acl and snapshot. Each
// talks to one agent's public HTTP API (api/) through this package's own
// small client (client.go) and prints either aligned tables for people
// (text/tabwriter) or, with -json, the API's own JSON for scripts.
//
// Run is the one entry point: cmd/custodes dispatches these commands to
// it, and the feature steps call it in-process against the test harness's
// agents. It takes its environment as a map and its streams as arguments,
// and keeps no package state, so several runs can share a process.
//
// Exit codes scripts can rely on: 0 success, 1 an error (an API error
// prints the API's status and message, "custodes: 404 ..."), 2 a usage
// error (unknown command, bad flag, missing argument).
//
// Where a command finds the agent and its credentials: --http or
// CUSTODES_HTTP_ADDR (default 127.0.0.1:8500, the agent's own default;
// `custodes dev` serves on 8501-8503), a token from --token or
// CUSTODES_TOKEN, TLS from --tls-ca (CUSTODES_CACERT) with an optional
// client certificate, and the cluster key (--encrypt, --encrypt-file or
// CUSTODES_ENCRYPT) to sign admin calls to a keyed cluster without ACLs.
//
// Files and snapshots are streamed, never held in memory; a progress bar
// is drawn on stderr only when stderr is a terminal (progress.go, a small
// one of our own over go-isatty, to add no module to the build).
package cli
