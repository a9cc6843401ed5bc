package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/custodes/custodes/tlsutil"
)

// tlsFlags binds an agent's TLS flags to c. --tls-verify-incoming is on
// by default: TLS always comes with a CA, and peers are then checked
// against it.
func tlsFlags(fs *flag.FlagSet, c *tlsutil.Config) {
	fs.StringVar(&c.CertFile, "tls-cert", "", "this agent's certificate (PEM; `custodes tls cert`); with --tls-key and --tls-ca the API is served over HTTPS and agents talk mutual TLS")
	fs.StringVar(&c.KeyFile, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.StringVar(&c.CAFile, "tls-ca", "", "the cluster's CA certificate (PEM; `custodes tls ca`): peers and client certificates are verified against it alone")
	fs.BoolVar(&c.VerifyIncoming, "tls-verify-incoming", true, "Raft and the agent-to-agent routes accept only peers with a certificate from --tls-ca")
	fs.BoolVar(&c.RequireClientCert, "tls-require-client-cert", false, "the public API too refuses clients without a certificate from --tls-ca")
}

// clientTLSFlags are a tool's flags for calling an agent served over TLS
// (custodes leave): trust --tls-ca and, if given, present a certificate.
type clientTLSFlags struct{ ca, cert, key string }

func (f *clientTLSFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.ca, "tls-ca", "", "call the agent over HTTPS, trusting this CA certificate (PEM)")
	fs.StringVar(&f.cert, "tls-cert", "", "present this client certificate (PEM; an agent with --tls-require-client-cert needs one)")
	fs.StringVar(&f.key, "tls-key", "", "the key of --tls-cert (PEM)")
}

// config returns the client TLS configuration and the URL scheme; nil
// and http without --tls-ca.
func (f *clientTLSFlags) config() (*tls.Config, string, error) {
	if f.ca == "" {
		if f.cert != "" || f.key != "" {
			return nil, "", errors.New("--tls-cert and --tls-key need --tls-ca")
		}
		return nil, "http://", nil
	}
	pem, err := os.ReadFile(f.ca)
	if err != nil {
		return nil, "", fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, "", fmt.Errorf("--tls-ca %s: no PEM certificate in it", f.ca)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if (f.cert == "") != (f.key == "") {
		return nil, "", errors.New("give --tls-cert and --tls-key together")
	}
	if f.cert != "" {
		c, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, "", fmt.Errorf("--tls-cert %s, --tls-key %s: %w", f.cert, f.key, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, "https://", nil
}

// transport is http.DefaultTransport (proxies from the environment,
// its timeouts) with the flags' TLS configuration, and the URL scheme.
func (f *clientTLSFlags) transport() (*http.Transport, string, error) {
	cfg, scheme, err := f.config()
	if err != nil {
		return nil, "", err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return t, scheme, nil
}

const tlsUsage = `Usage:
  custodes tls ca   [--dir DIR] [--force]
      write a new CA: DIR/ca.pem and DIR/ca-key.pem (keep ca-key.pem secret)
  custodes tls cert --name NAME [--ip IP,...] [--dns NAME,...] [--dir DIR] [--force]
      write DIR/NAME.pem and DIR/NAME-key.pem, signed by DIR/ca.pem, valid
      for localhost, 127.0.0.1, ::1 and the given addresses, as server and client
`

// runTLS makes a CA and agents' certificates, so an operator can try TLS
// without openssl.
func runTLS(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tlsUsage)
		return 2
	}
	switch args[0] {
	case "ca":
		return runTLSCA(args[1:], stdout, stderr)
	case "cert":
		return runTLSCert(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, tlsUsage)
		return 0
	}
	fmt.Fprintf(stderr, "custodes tls: unknown command %q\n\n%s", args[0], tlsUsage)
	return 2
}

func runTLSCA(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes tls ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "directory to write ca.pem and ca-key.pem into")
	force := fs.Bool("force", false, "overwrite existing files (every certificate the old CA signed stops working)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if _, paths, err := tlsutil.WriteCA(*dir, *force); err != nil {
		fmt.Fprintln(stderr, "custodes tls ca:", err)
		return 1
	} else {
		for _, p := range paths {
			fmt.Fprintln(stdout, "wrote", p)
		}
	}
	return 0
}

func runTLSCert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes tls cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "directory holding ca.pem and ca-key.pem, and to write the certificate into")
	name := fs.String("name", "", "the certificate's name: writes NAME.pem and NAME-key.pem (required)")
	force := fs.Bool("force", false, "overwrite existing files")
	var ips []net.IP
	var dns []string
	fs.Func("ip", "comma-separated IP addresses the certificate is valid for (besides 127.0.0.1 and ::1)", func(v string) error {
		for _, s := range splitList(v) {
			ip := net.ParseIP(s)
			if ip == nil {
				return fmt.Errorf("%q is not an IP address", s)
			}
			ips = append(ips, ip)
		}
		return nil
	})
	fs.Func("dns", "comma-separated DNS names the certificate is valid for (besides localhost)", func(v string) error {
		dns = append(dns, splitList(v)...)
		return nil
	})
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if err := tlsutil.CheckName(*name); err != nil {
		fmt.Fprintln(stderr, "custodes tls cert: --name:", err)
		return 2
	}
	ca, err := tlsutil.ReadCA(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "custodes tls cert:", err)
		return 1
	}
	paths, err := tlsutil.WriteCert(ca, *dir, *name, ips, dns, *force)
	if err != nil {
		fmt.Fprintln(stderr, "custodes tls cert:", err)
		return 1
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, "wrote", p)
	}
	return 0
}

// parse parses a subcommand's flags and refuses stray arguments. It
// returns the exit code to stop with, or -1 to go on.
func parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return 2
	}
	return -1
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
