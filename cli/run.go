package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Environment variables the commands read (from Run's env, never from
// the process directly, so tests choose them).
const (
	EnvHTTPAddr   = "CUSTODES_HTTP_ADDR"
	EnvToken      = "CUSTODES_TOKEN"
	EnvCACert     = "CUSTODES_CACERT"
	EnvClientCert = "CUSTODES_CLIENT_CERT"
	EnvClientKey  = "CUSTODES_CLIENT_KEY"
	EnvLockToken  = "CUSTODES_LOCK_TOKEN"
)

// DefaultHTTPAddr is where the commands look for an agent without --http
// or CUSTODES_HTTP_ADDR: the address `custodes agent` serves by default.
const DefaultHTTPAddr = "127.0.0.1:8500"

// command is one top-level subcommand.
type command struct {
	summary string
	run     func(inv *invocation, args []string) error
}

// commands is the table of subcommands; Run and IsCommand read it.
func commands() map[string]command {
	return map[string]command{
		"members":    {"list the gossip members (agents and file servers)", runMembers},
		"raft":       {"list the Raft peers: id, address, state, voter, last index", runRaft},
		"health":     {"the leader's view of every server's health", runHealth},
		"services":   {"list the services, or one service's instances with their health", runServices},
		"register":   {"register a service instance", runRegister},
		"deregister": {"remove a service instance by id", runDeregister},
		"heartbeat":  {"renew an instance's TTL check", runHeartbeat},
		"watch":      {"print a service's changes as they happen (blocking queries)", runWatch},
		"events":     {"follow the event stream, one line per event", runEvents},
		"files":      {"the file system: ls, put, get, rm, lock, unlock, share, stat", runFiles},
		"dfs":        {"the file servers, their ring, the replication queue and lost files", runDFS},
		"users":      {"ACL users: ls, create, rm, rotate", runUsers},
		"acl":        {"ACLs: bootstrap, whoami", runACL},
		"snapshot":   {"save or restore the whole replicated state", runSnapshot},
	}
}

// IsCommand reports whether name is one of this package's subcommands.
func IsCommand(name string) bool {
	_, ok := commands()[name]
	return ok
}

// Usage is the list of this package's subcommands, for the binary's
// usage text.
func Usage() string {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  custodes %-10s %s\n", n, cmds[n].summary)
	}
	return b.String()
}

// OSEnv is the process's environment as Run takes it.
func OSEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// invocation is one Run: its context, environment and streams.
type invocation struct {
	ctx    context.Context
	env    map[string]string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// tty says stderr is a terminal: progress bars are drawn only then.
	tty bool
}

func (inv *invocation) getenv(k string) string { return inv.env[k] }

// usageError is a mistake in the command line (exit 2). printed says the
// flag package has already told the user.
type usageError struct {
	msg     string
	printed bool
}

func (e *usageError) Error() string { return e.msg }

// errHelp is -h: the help was printed, and that is success.
var errHelp = errors.New("help requested")

// Run runs one client subcommand: args[0] names it. It returns the exit
// code: 0 ok, 1 error, 2 usage.
func Run(ctx context.Context, args []string, env map[string]string, stdin io.Reader, stdout, stderr io.Writer) int {
	if env == nil {
		env = map[string]string{}
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	inv := &invocation{ctx: ctx, env: env, stdin: stdin, stdout: stdout, stderr: stderr, tty: isTerminal(stderr)}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "custodes: no command\n\nCommands:\n%s", Usage())
		return ExitUsage
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "custodes: unknown command %q\n\nCommands:\n%s", args[0], Usage())
		return ExitUsage
	}
	return inv.exit(cmd.run(inv, args[1:]))
}

// exit reports err on stderr and maps it to an exit code.
func (inv *invocation) exit(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return ExitOK
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintln(inv.stderr, ue.msg)
		}
		return ExitUsage
	}
	fmt.Fprintln(inv.stderr, "custodes:", err)
	return ExitError
}

// subcommand dispatches the second word of a command with subcommands
// (files, users, acl, snapshot).
func (inv *invocation) subcommand(parent string, args []string, subs map[string]func(*invocation, []string) error, summaries [][2]string) error {
	list := func() string {
		var b strings.Builder
		for _, s := range summaries {
			fmt.Fprintf(&b, "  custodes %s %-8s %s\n", parent, s[0], s[1])
		}
		return b.String()
	}
	if len(args) == 0 {
		return &usageError{msg: fmt.Sprintf("custodes %s: which one?\n\n%s", parent, list())}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(inv.stdout, list())
		return errHelp
	}
	run, ok := subs[args[0]]
	if !ok {
		return &usageError{msg: fmt.Sprintf("custodes %s: unknown command %q\n\n%s", parent, args[0], list())}
	}
	return run(inv, args[1:])
}
