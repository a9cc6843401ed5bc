package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Config names an agent's TLS files and choices, as its flags give them.
// The error messages name the flags, since that is where an operator
// fixes them.
type Config struct {
	CertFile string // --tls-cert
	KeyFile  string // --tls-key
	CAFile   string // --tls-ca
	// VerifyIncoming: the Raft listener and the internal routes accept
	// only peers presenting a certificate from the CA. On by default: a
	// CA is always given with TLS, and without this check anyone who
	// reaches the Raft port could speak Raft.
	VerifyIncoming bool // --tls-verify-incoming
	// RequireClientCert: the public API too refuses clients without a
	// certificate from the CA (off: curl --cacert is enough).
	RequireClientCert bool // --tls-require-client-cert
}

// Enabled reports whether any TLS file is named.
func (c Config) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.CAFile != "" }

// TLS is an agent's loaded TLS material, from which each listener and
// client takes its configuration. Nil means TLS is off.
type TLS struct {
	cert              tls.Certificate
	pool              *x509.CertPool
	verifyIncoming    bool
	requireClientCert bool
}

// Load reads the files c names. It returns nil and no error when TLS is
// off, and an error naming the flag when only some files are given or one
// does not load.
func Load(c Config) (*TLS, error) {
	if !c.Enabled() {
		if c.RequireClientCert {
			return nil, errors.New("--tls-require-client-cert needs --tls-cert, --tls-key and --tls-ca")
		}
		return nil, nil
	}
	var missing []error
	for _, f := range []struct{ flag, value string }{
		{"--tls-cert", c.CertFile}, {"--tls-key", c.KeyFile}, {"--tls-ca", c.CAFile},
	} {
		if f.value == "" {
			missing = append(missing, fmt.Errorf("%s is required with TLS: give --tls-cert, --tls-key and --tls-ca together", f.flag))
		}
	}
	if len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", c.CAFile)
	}
	if _, err := os.Stat(c.CertFile); err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	if _, err := os.Stat(c.KeyFile); err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", c.CertFile, c.KeyFile, err)
	}
	// An agent whose own certificate its peers would refuse is a
	// misconfiguration to report now, not as a cluster that never forms.
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s: %w", c.CertFile, err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("--tls-cert %s is not valid under --tls-ca %s for server and client use: %w", c.CertFile, c.CAFile, err)
	}
	cert.Leaf = leaf
	return &TLS{cert: cert, pool: pool, verifyIncoming: c.VerifyIncoming, requireClientCert: c.RequireClientCert}, nil
}

// VerifyIncoming reports whether peers must present a certificate from
// the CA on Raft and the internal routes.
func (t *TLS) VerifyIncoming() bool { return t.verifyIncoming }

// Leaf is the agent's own certificate.
func (t *TLS) Leaf() *x509.Certificate { return t.cert.Leaf }

// HTTPServer is the public API's configuration: a client certificate is
// verified when given and required only with RequireClientCert.
func (t *TLS) HTTPServer() *tls.Config {
	auth := tls.VerifyClientCertIfGiven
	if t.requireClientCert {
		auth = tls.RequireAndVerifyClientCert
	}
	return t.server(auth)
}

// RaftServer is the Raft listener's configuration: with VerifyIncoming a
// dialler must present a certificate from the CA.
func (t *TLS) RaftServer() *tls.Config {
	auth := tls.VerifyClientCertIfGiven
	if t.verifyIncoming {
		auth = tls.RequireAndVerifyClientCert
	}
	return t.server(auth)
}

func (t *TLS) server(auth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{t.cert},
		ClientCAs:    t.pool,
		ClientAuth:   auth,
		MinVersion:   tls.VersionTLS12,
	}
}

// Client is the configuration of an agent's calls to peers (HTTP and
// Raft): it trusts the CA alone, not the system's roots, and presents the
// agent's certificate. ServerName is left to the dialler (the peer's
// address), so a peer must hold a certificate for the address it
// publishes.
func (t *TLS) Client() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{t.cert},
		RootCAs:      t.pool,
		MinVersion:   tls.VersionTLS12,
	}
}

// VerifiedPeer reports whether a connection's peer presented a
// certificate that verified against the CA. Only verified chains count:
// with VerifyClientCertIfGiven an unverifiable certificate already failed
// the handshake, and a missing one leaves no chain.
func VerifiedPeer(cs *tls.ConnectionState) bool {
	return cs != nil && len(cs.VerifiedChains) > 0
}
