package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodes/custodes/tlsutil"
)

func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTLSCommandsWriteACAAndCertificates(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCmd("tls", "ca", "--dir", dir); code != 0 || !strings.Contains(out, "ca.pem") {
		t.Fatalf("tls ca: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runCmd("tls", "ca", "--dir", dir); code != 1 || !strings.Contains(errOut, "--force") {
		t.Fatalf("a second tls ca: %d %s, want 1 naming --force", code, errOut)
	}
	if code, out, errOut := runCmd("tls", "cert", "--dir", dir, "--name", "agent1", "--ip", "10.0.0.1,10.0.0.2", "--dns", "a1.example"); code != 0 {
		t.Fatalf("tls cert: %d %s %s", code, out, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "agent1.pem"))
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("agent1.pem holds no PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "10.0.0.2", "a1.example"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	// What the commands wrote is what an agent loads.
	if _, err := tlsutil.Load(tlsutil.Config{CertFile: filepath.Join(dir, "agent1.pem"), KeyFile: filepath.Join(dir, "agent1-key.pem"), CAFile: filepath.Join(dir, "ca.pem")}); err != nil {
		t.Fatalf("an agent would refuse them: %v", err)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"tls"}, 2, "Usage"},
		{[]string{"tls", "csr"}, 2, "unknown command"},
		{[]string{"tls", "cert", "--dir", dir}, 2, "--name"},
		{[]string{"tls", "cert", "--dir", dir, "--name", "../x"}, 2, "--name"},
		{[]string{"tls", "cert", "--dir", dir, "--name", "a2", "--ip", "nope"}, 2, "not an IP"},
		{[]string{"tls", "cert", "--dir", t.TempDir(), "--name", "a2"}, 1, "custodes tls ca"},
		{[]string{"tls", "cert", "--dir", dir, "--name", "agent1"}, 1, "--force"},
		{[]string{"tls", "ca", "--dir", dir, "extra"}, 2, "unexpected"},
	} {
		if code, _, errOut := runCmd(tc.args...); code != tc.code || !strings.Contains(errOut, tc.says) {
			t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", tc.args, code, errOut, tc.code, tc.says)
		}
	}
}

// A partial or broken TLS configuration stops the agent before it
// starts anything, naming the flag to fix.
func TestAgentRefusesAPartialTLSConfig(t *testing.T) {
	dir := t.TempDir()
	runCmd("tls", "ca", "--dir", dir)
	runCmd("tls", "cert", "--dir", dir, "--name", "a1")
	base := []string{"agent", "--node-id", "n1", "--data-dir", t.TempDir(), "--bootstrap-expect", "1", "--http", "127.0.0.1:0", "--raft", "127.0.0.1:0", "--gossip", "127.0.0.1:0"}
	cert, key, ca := filepath.Join(dir, "a1.pem"), filepath.Join(dir, "a1-key.pem"), filepath.Join(dir, "ca.pem")
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--tls-cert", cert, "--tls-ca", ca}, "--tls-key is required"},
		{[]string{"--tls-key", key}, "--tls-cert is required"},
		{[]string{"--tls-cert", cert, "--tls-key", key, "--tls-ca", cert + ".nope"}, "--tls-ca"},
		{[]string{"--tls-cert", ca, "--tls-key", key, "--tls-ca", ca}, "--tls-cert"},
		{[]string{"--tls-require-client-cert"}, "--tls-require-client-cert"},
	} {
		if code, _, errOut := runCmd(append(base, tc.args...)...); code != 2 || !strings.Contains(errOut, tc.says) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %q", tc.args, code, errOut, tc.says)
		}
	}
}

// custodes leave reaches an agent served over TLS with --tls-ca.
func TestLeaveOverTLS(t *testing.T) {
	dir := t.TempDir()
	runCmd("tls", "ca", "--dir", dir)
	runCmd("tls", "cert", "--dir", dir, "--name", "a1")
	loaded, err := tlsutil.Load(tlsutil.Config{CertFile: filepath.Join(dir, "a1.pem"), KeyFile: filepath.Join(dir, "a1-key.pem"), CAFile: filepath.Join(dir, "ca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/leave" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"change":"left"}`))
	}))
	srv.TLS = loaded.HTTPServer()
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr).String()
	if code, out, errOut := runCmd("leave", "--http", addr, "--tls-ca", filepath.Join(dir, "ca.pem")); code != 0 || !strings.Contains(out, "left") {
		t.Fatalf("leave over TLS: %d %s %s", code, out, errOut)
	}
	if code, _, _ := runCmd("leave", "--http", addr); code != 1 {
		t.Fatalf("leave over plain HTTP to a TLS agent: exit %d, want 1", code)
	}
	if code, _, errOut := runCmd("leave", "--http", addr, "--tls-cert", filepath.Join(dir, "a1.pem")); code != 2 || !strings.Contains(errOut, "--tls-ca") {
		t.Fatalf("--tls-cert without --tls-ca: %d %s", code, errOut)
	}
}
