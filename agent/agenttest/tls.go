package agenttest

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/custodes/custodes/tlsutil"
)

// A TLS cluster (Options.TLS) keeps its CA and every agent's certificate
// under <root>/tls, made in the test as an operator would with `custodes
// tls ca` and `custodes tls cert`.

func (c *Cluster) tlsDir() string { return filepath.Join(c.root, "tls") }

// startTLS makes the cluster's CA when the options ask for TLS.
func (c *Cluster) startTLS() error {
	if !c.opts.TLS {
		return nil
	}
	if err := os.MkdirAll(c.tlsDir(), 0o700); err != nil {
		return err
	}
	ca, _, err := tlsutil.WriteCA(c.tlsDir(), false)
	if err != nil {
		return fmt.Errorf("test CA: %w", err)
	}
	c.ca = ca
	return nil
}

// agentTLS returns the TLS files of the agent named name, issuing its
// certificate the first time; none without TLS. A restarted agent keeps
// its certificate.
func (c *Cluster) agentTLS(name string) tlsutil.Config {
	if c.ca == nil {
		return tlsutil.Config{}
	}
	cfg := tlsConfig(c.tlsDir(), name)
	if _, err := os.Stat(cfg.CertFile); err != nil {
		if _, err := tlsutil.WriteCert(c.ca, c.tlsDir(), name, nil, nil, false); err != nil {
			// The files are the test's own temporary ones: failing to
			// write them is the machine's fault, and the agent's start
			// will report the missing file by its flag.
			fmt.Fprintf(c.out, "agenttest: certificate for %s: %v\n", name, err)
		}
	}
	return cfg
}

func tlsConfig(dir, name string) tlsutil.Config {
	cert, key := tlsutil.CertFiles(name)
	return tlsutil.Config{
		CertFile:       filepath.Join(dir, cert),
		KeyFile:        filepath.Join(dir, key),
		CAFile:         filepath.Join(dir, tlsutil.CAFile),
		VerifyIncoming: true,
	}
}

// ForeignTLS makes, in dir, another CA and a certificate for name signed
// by it: what an agent of another cluster, or an impostor, would hold.
func ForeignTLS(dir, name string) (tlsutil.Config, error) {
	ca, _, err := tlsutil.WriteCA(dir, false)
	if err != nil {
		return tlsutil.Config{}, err
	}
	if _, err := tlsutil.WriteCert(ca, dir, name, nil, nil, false); err != nil {
		return tlsutil.Config{}, err
	}
	return tlsConfig(dir, name), nil
}

func (c *Cluster) scheme() string {
	if c.ca != nil {
		return "https://"
	}
	return "http://"
}

// CAFile is the TLS cluster's CA certificate file ("" without TLS).
func (c *Cluster) CAFile() string {
	if c.ca == nil {
		return ""
	}
	return filepath.Join(c.tlsDir(), tlsutil.CAFile)
}

// ClientTLS is a client's TLS configuration for the cluster: it trusts
// the CA and, with asAgent, presents a certificate the CA signed (as a
// peer does); without, it is a client like curl --cacert. Nil without
// TLS.
func (c *Cluster) ClientTLS(asAgent bool) (*tls.Config, error) {
	if c.ca == nil {
		return nil, nil
	}
	name := "client"
	if asAgent {
		name = "test-agent"
	}
	t, err := tlsutil.Load(c.agentTLS(name))
	if err != nil {
		return nil, err
	}
	cfg := t.Client()
	if !asAgent {
		cfg.Certificates = nil
	}
	return cfg, nil
}

// HTTPClient is a client for the cluster's API: it trusts the CA of a
// TLS cluster and presents no certificate.
func (c *Cluster) HTTPClient() *http.Client {
	cfg, err := c.ClientTLS(false)
	if err != nil {
		// Unreachable once the cluster started: the CA loaded then.
		panic(err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 8}}
}
