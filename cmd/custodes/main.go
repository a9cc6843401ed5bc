// Command custodes is the registry agent and its tools, one binary with
// subcommands: agent, fileserver, dev, leave, tls, keygen, bench, version.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `custodes — a Raft-replicated service registry

Usage:
  custodes agent   --node-id ID --data-dir DIR --http HOST:PORT --raft HOST:PORT --gossip HOST:PORT
                   [--bootstrap-expect N] [--join ADDR,ADDR,...]
                   [--encrypt KEY,KEY... | --encrypt-file PATH]   (or CUSTODES_ENCRYPT)
                   [--tls-cert FILE --tls-key FILE --tls-ca FILE [--tls-require-client-cert]]
                   [--acl-default allow|deny] [--initial-management-token-file PATH]
  custodes fileserver --id ID --data-dir DIR --http HOST:PORT --gossip HOST:PORT --join GOSSIP,...
                   [--agents HTTP,...] [--encrypt KEY,KEY... | --encrypt-file PATH]
                   [--tls-cert FILE --tls-key FILE --tls-ca FILE]   a file server of the directory
                   [--scrub-interval 24h] [--scrub-rate BYTES/S]
  custodes fileserver leave --id ID [--http AGENT] [--timeout 10m] [--encrypt KEY | --encrypt-file PATH]
                   [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]   drain a file server (its copies made elsewhere)
  custodes dev     [--data-dir DIR] [--nodes 3] [--port-base 8500]
  custodes leave   [--http HOST:PORT] [--encrypt KEY | --encrypt-file PATH] [--tls-ca FILE]   decommission a running agent
  custodes tls ca  [--dir DIR]          write a new CA (ca.pem, ca-key.pem)
  custodes tls cert --name N [--ip IP,...] [--dns NAME,...] [--dir DIR]   write N.pem, N-key.pem signed by it
  custodes keygen                       print a new random cluster key
  custodes bench   [--cluster-dir DIR]  measure a cluster started by scripts/cluster.sh
  custodes bench dfs [--custodes URL --token T] [--seaweed URL] [--fileserver URL | --sink URL]   the directory next to SeaweedFS (scripts/bench-dfs.sh)
  custodes bench sink --dir DIR [--http HOST:PORT]   a plain fsyncing file writer: the direct baseline
  custodes version

agent, fileserver and dev log to stderr: --log-level debug|info|warn|error,
--log-format text|json (text by default; json is one object a line).
Run "custodes COMMAND -h" for a command's flags.
`

// version and commit are set at build time with -ldflags
// "-X main.version=... -X main.commit=..." (make release).
var (
	version = "dev"
	commit  = ""
)

// versionLine is what "custodes version" prints.
func versionLine() string {
	if commit == "" {
		return "custodes " + version
	}
	return "custodes " + version + " (commit " + commit + ")"
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "agent":
		return runAgent(args[1:], stdout, stderr)
	case "fileserver":
		return runFileserver(args[1:], stdout, stderr)
	case "dev":
		return runDev(args[1:], stdout, stderr)
	case "tls":
		return runTLS(args[1:], stdout, stderr)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "leave":
		return runLeave(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "custodes: unknown command %q\n\n%s", args[0], usage)
	return 2
}
