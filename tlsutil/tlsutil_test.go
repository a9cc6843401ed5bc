package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// set is one CA with certificates named as given, written into a
// temporary directory.
type set struct {
	dir string
	ca  *CA
}

func newSet(t *testing.T, names ...string) set {
	t.Helper()
	dir := t.TempDir()
	ca, _, err := WriteCA(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := WriteCert(ca, dir, n, nil, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	return set{dir: dir, ca: ca}
}

func (s set) config(name string) Config {
	c, k := CertFiles(name)
	return Config{CertFile: filepath.Join(s.dir, c), KeyFile: filepath.Join(s.dir, k), CAFile: filepath.Join(s.dir, CAFile), VerifyIncoming: true}
}

func (s set) load(t *testing.T, name string, change func(*Config)) *TLS {
	t.Helper()
	c := s.config(name)
	if change != nil {
		change(&c)
	}
	l, err := Load(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestIssuedCertificateNamesAndUses(t *testing.T) {
	s := newSet(t)
	p, err := s.ca.Issue("agent1", []net.IP{net.ParseIP("10.0.0.7")}, []string{"agent1.example"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCert(p.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "agent1" || cert.IsCA {
		t.Errorf("subject %q, CA %v", cert.Subject.CommonName, cert.IsCA)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.Cert)
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "10.0.0.7", "agent1.example"} {
		for _, use := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{use}}); err != nil {
				t.Errorf("%s, use %v: %v", host, use, err)
			}
		}
	}
	if err := cert.VerifyHostname("10.0.0.8"); err == nil {
		t.Error("valid for an address it was not issued for")
	}
	if d := time.Until(cert.NotAfter); d < CertValidity-time.Hour || d > CertValidity {
		t.Errorf("valid for %s more", d)
	}
	other, _ := s.ca.Issue("agent1", nil, nil)
	if o, _ := parseCert(other.CertPEM); o.SerialNumber.Cmp(cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial")
	}
}

func TestFilesAreWrittenOnceWithPrivateKeys(t *testing.T) {
	s := newSet(t, "agent1")
	for _, name := range []string{CAKeyFile, "agent1-key.pem"} {
		fi, err := os.Stat(filepath.Join(s.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	before, _ := os.ReadFile(filepath.Join(s.dir, CAFile))
	if _, _, err := WriteCA(s.dir, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second CA: %v, want a refusal naming --force", err)
	}
	if _, err := WriteCert(s.ca, s.dir, "agent1", nil, nil, false); err == nil {
		t.Error("a certificate was overwritten without force")
	}
	if after, _ := os.ReadFile(filepath.Join(s.dir, CAFile)); string(after) != string(before) {
		t.Error("the refused CA changed ca.pem")
	}
	if _, _, err := WriteCA(s.dir, true); err != nil {
		t.Errorf("with force: %v", err)
	}
	ca, err := ReadCA(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Cert.Equal(s.ca.Cert) {
		t.Error("ReadCA returned the replaced CA")
	}
	for _, bad := range []string{"", "ca", "../x", "a/b", ".hidden", strings.Repeat("a", 65)} {
		if _, err := WriteCert(ca, s.dir, bad, nil, nil, false); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestLoadNamesTheFlag(t *testing.T) {
	s := newSet(t, "agent1")
	foreign := newSet(t, "other")
	full := s.config("agent1")
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // "" means loads
	}{
		{"all three", func(*Config) {}, ""},
		{"off", func(c *Config) { *c = Config{} }, ""},
		{"no key", func(c *Config) { c.KeyFile = "" }, "--tls-key is required"},
		{"no cert", func(c *Config) { c.CertFile = "" }, "--tls-cert is required"},
		{"CA only", func(c *Config) { c.CertFile, c.KeyFile = "", "" }, "--tls-cert is required"},
		{"missing CA file", func(c *Config) { c.CAFile = filepath.Join(s.dir, "nope.pem") }, "--tls-ca"},
		{"CA is not PEM", func(c *Config) { c.CAFile = c.KeyFile }, "--tls-ca"},
		{"missing key file", func(c *Config) { c.KeyFile += ".gone" }, "--tls-key"},
		{"key of another cert", func(c *Config) { c.KeyFile = foreign.config("other").KeyFile }, "--tls-cert"},
		{"cert from another CA", func(c *Config) {
			c.CertFile, c.KeyFile = foreign.config("other").CertFile, foreign.config("other").KeyFile
		}, "not valid under --tls-ca"},
		{"client certs without TLS", func(c *Config) { *c = Config{RequireClientCert: true} }, "--tls-require-client-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := full
			tc.change(&c)
			_, err := Load(c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// handshake runs one TLS handshake over loopback TCP and returns the
// server's error, or else the client's: with TLS 1.3 the client finishes
// before the server has checked its certificate.
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		done <- tls.Server(c, server).Handshake()
	}()
	var cerr error
	if client == nil {
		// A plain client: it sends an HTTP request where a hello belongs.
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		defer c.Close()
	} else {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), client)
		if err == nil {
			defer c.Close()
		}
		cerr = err
	}
	if serr := <-done; serr != nil {
		return serr
	}
	return cerr
}

func TestWhoIsAdmitted(t *testing.T) {
	s := newSet(t, "agent1", "agent2")
	foreign := newSet(t, "other")
	a1 := s.load(t, "agent1", nil)
	a2 := s.load(t, "agent2", nil)
	noVerify := s.load(t, "agent1", func(c *Config) { c.VerifyIncoming = false })
	strict := s.load(t, "agent1", func(c *Config) { c.RequireClientCert = true })
	stranger := foreign.load(t, "other", nil)
	anonymous := &tls.Config{RootCAs: a2.Client().RootCAs, MinVersion: tls.VersionTLS12}
	// A client from another CA that trusts ours: only its certificate is
	// wrong. Go's client offers a certificate only when its issuer is
	// among the CAs the server names, so this one offers its own anyway,
	// as a hostile client would; a polite one connects without any
	// (strangerPolite), which the internal routes refuse (VerifiedPeer).
	strangerTrusting := stranger.Client()
	strangerTrusting.RootCAs = a2.Client().RootCAs
	strangerCert := strangerTrusting.Certificates[0]
	strangerTrusting.Certificates = nil
	strangerTrusting.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &strangerCert, nil }
	strangerPolite := stranger.Client()
	strangerPolite.RootCAs = a2.Client().RootCAs
	for _, tc := range []struct {
		name   string
		server *tls.Config
		client *tls.Config
		ok     bool
	}{
		{"raft: a peer", a1.RaftServer(), a2.Client(), true},
		{"raft: no certificate", a1.RaftServer(), anonymous, false},
		{"raft: a certificate from another CA", a1.RaftServer(), strangerTrusting, false},
		{"raft: a server from another CA", stranger.RaftServer(), a2.Client(), false},
		{"raft without verify-incoming: no certificate", noVerify.RaftServer(), anonymous, true},
		{"api: a client without a certificate", a1.HTTPServer(), anonymous, true},
		{"api: a peer", a1.HTTPServer(), a2.Client(), true},
		{"api: a certificate from another CA", a1.HTTPServer(), strangerTrusting, false},
		{"api: a client from another CA offering none", a1.HTTPServer(), strangerPolite, true},
		{"raft: a client from another CA offering none", a1.RaftServer(), strangerPolite, false},
		{"api requiring certificates: none", strict.HTTPServer(), anonymous, false},
		{"api requiring certificates: a peer", strict.HTTPServer(), a2.Client(), true},
		{"api: plain text", a1.HTTPServer(), nil, false},
		{"api: TLS 1.1", a1.HTTPServer(), &tls.Config{RootCAs: anonymous.RootCAs, MaxVersion: tls.VersionTLS11}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.client != nil && tc.client.ServerName == "" {
				tc.client = tc.client.Clone()
				tc.client.ServerName = "127.0.0.1"
			}
			err := handshake(t, tc.server, tc.client)
			if (err == nil) != tc.ok {
				t.Fatalf("handshake error %v, want admitted %v", err, tc.ok)
			}
		})
	}
}

func TestVerifiedPeer(t *testing.T) {
	if VerifiedPeer(nil) || VerifiedPeer(&tls.ConnectionState{}) {
		t.Error("a connection without a verified chain counts as a peer")
	}
	if !VerifiedPeer(&tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{}}}) {
		t.Error("a verified chain does not count")
	}
}
