package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// common are the flags every client subcommand has: where the agent is,
// how to authenticate, and how to print.
type common struct {
	http, token             string
	json                    bool
	tlsCA, tlsCert, tlsKey  string
	encrypt, encryptFile    string
	name, synopsis, summary string
}

// cmdFlags is one subcommand's flag set with the common flags bound.
type cmdFlags struct {
	*flag.FlagSet
	common
}

// newFlags makes the flag set of "custodes NAME"; synopsis is what follows
// the name in the usage line ("[flags] LOCAL [NAME]").
func (inv *invocation) newFlags(name, synopsis, summary string) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet("custodes "+name, flag.ContinueOnError)}
	f.name, f.synopsis, f.summary = name, synopsis, summary
	f.SetOutput(inv.stderr)
	f.StringVar(&f.http, "http", "", "the agent's HTTP address, host:port or a URL with http:// or https:// (default $"+EnvHTTPAddr+", else "+DefaultHTTPAddr+")")
	f.StringVar(&f.token, "token", "", "the ACL token to send (default $"+EnvToken+")")
	f.BoolVar(&f.json, "json", false, "print the API's JSON instead of a table")
	f.StringVar(&f.tlsCA, "tls-ca", "", "call the agent over HTTPS, trusting this CA certificate (PEM; default $"+EnvCACert+")")
	f.StringVar(&f.tlsCert, "tls-cert", "", "present this client certificate (PEM; default $"+EnvClientCert+")")
	f.StringVar(&f.tlsKey, "tls-key", "", "the key of --tls-cert (PEM; default $"+EnvClientKey+")")
	f.StringVar(&f.encrypt, "encrypt", "", "the cluster key, to sign admin calls to a keyed cluster without ACLs (default $CUSTODES_ENCRYPT)")
	f.StringVar(&f.encryptFile, "encrypt-file", "", "read the cluster key from this file")
	f.Usage = func() {
		out := f.Output()
		fmt.Fprintf(out, "Usage: custodes %s %s\n\n%s\n\nFlags:\n", f.name, f.synopsis, f.summary)
		f.PrintDefaults()
	}
	return f
}

// parse parses args, flags and operands in any order (Go's flag package
// stops at the first operand; people write `services web -json`). "--"
// ends the flags. It returns the operands.
func (f *cmdFlags) parse(args []string) ([]string, error) {
	var operands []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{msg: err.Error(), printed: true}
		}
		rest := f.Args()
		if len(rest) == 0 {
			return operands, nil
		}
		// Parse stops at "--" (consumed) or at an operand; tell which by
		// what it left: after "--" everything is an operand.
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(operands, rest...), nil
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// usagef is a usage error that shows the command's synopsis.
func (f *cmdFlags) usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf("custodes %s: %s\nUsage: custodes %s %s (-h for the flags)",
		f.name, fmt.Sprintf(format, a...), f.name, f.synopsis)}
}

// operands parses args and checks the number of operands: at least min,
// at most max (max < 0: any).
func (f *cmdFlags) operands(args []string, min, max int) ([]string, error) {
	ops, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(ops) < min:
		return nil, f.usagef("missing arguments")
	case max >= 0 && len(ops) > max:
		return nil, f.usagef("unexpected arguments %q", ops[max:])
	}
	return ops, nil
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// mapFlag is a repeatable KEY=VALUE flag.
type mapFlag map[string]string

func (m mapFlag) String() string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (m mapFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	m[k] = val
	return nil
}
