// Command custodes is the registry agent and its tools, one binary with
// subcommands: agent, fileserver, dev, leave, tls, keygen, bench, version,
// and the operators' client commands of package cli (members, raft,
// health, services, register, watch, events, files, dfs, users,
// snapshot...).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/custodes/custodes/cli"
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

Client commands, against --http ADDR or $CUSTODES_HTTP_ADDR (default 127.0.0.1:8500; custodes dev serves
127.0.0.1:8501-8503), with a token from --token or $CUSTODES_TOKEN, over TLS with --tls-ca FILE or
$CUSTODES_CACERT (or an https:// address); tables for people, -json for scripts (the API's JSON);
exit 0 ok, 1 error (the API's status and message on stderr), 2 usage:
  custodes members                      the gossip members: agents and file servers
  custodes raft                         the Raft peers: id, address, state, voter, last index
  custodes raft remove-peer ID          remove a server from the Raft configuration (409 if it costs the quorum)
  custodes health                       the leader's view of every server
  custodes services [NAME]              the services, or one service's instances with their health
  custodes register --name N --address HOST:PORT [--port P] [--tag T] [--meta K=V]
                   [--check | --check-http URL | --check-ttl D] [--check-deregister-after D] [-f FILE]
  custodes deregister ID                remove an instance
  custodes heartbeat ID                 renew an instance's TTL check
  custodes watch NAME [--count N] [--timeout D]   print a service's changes as they happen
  custodes events [--index N] [--count N] [--timeout D]   follow the event stream
  custodes files ls | put LOCAL [NAME] | get NAME [LOCAL] | rm NAME | stat NAME
                 | lock NAME [--ttl D] | unlock NAME --lock-token T | share NAME USER read|write|none
                                        the file system (a user's token; - is stdin or stdout)
  custodes dfs                          file servers in ring order, replication queue, lost files
  custodes dfs drain SERVER             copy a file server's files elsewhere, then mark it left
  custodes users ls | create NAME --role R | rm NAME | rotate NAME   ACL users (a management token)
  custodes acl bootstrap | whoami
  custodes snapshot save FILE | restore FILE   the whole replicated state, through the leader

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
	if cli.IsCommand(args[0]) {
		return runClient(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "custodes: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// runClient runs one of package cli's commands; Ctrl-C (or SIGTERM) ends
// a watch or a transfer through its context.
func runClient(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, args, cli.OSEnv(), os.Stdin, stdout, stderr)
}
