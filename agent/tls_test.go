package agent_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/tlsutil"
	"github.com/hashicorp/raft"
)

func startTLS(t *testing.T) *agenttest.Cluster {
	t.Helper()
	c, err := agenttest.Start(3, agenttest.Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// send sends one request with client and returns the status and body.
func send(t *testing.T, client *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTLSClusterFormsAndServes(t *testing.T) {
	c := startTLS(t)
	hc := c.HTTPClient()
	f := c.Followers()[0]
	if !strings.HasPrefix(c.URL(f), "https://") {
		t.Fatalf("URL %s", c.URL(f))
	}
	// A write through a follower crosses the internal protocol (https,
	// client certificates) to the leader and comes back over Raft (TLS).
	status, body := send(t, hc, "POST", c.URL(f)+"/register", `{"name":"web","address":"10.0.0.1:80"}`)
	if status != http.StatusCreated {
		t.Fatalf("register through a follower: %d %s", status, body)
	}
	for i := range c.Agents {
		status, body := send(t, hc, "GET", c.URL(i)+"/service/web", "")
		var got struct{ Instances []json.RawMessage }
		if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || len(got.Instances) != 1 {
			t.Errorf("agent %d: %d %s", i+1, status, body)
		}
	}
	// An agent added later gets a certificate from the same CA and joins.
	i, err := c.Add()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForVoters(4, 10*time.Second); err != nil {
		t.Fatalf("the added agent never became a voter: %v", err)
	}
	agenttest.WaitFor(t, "the added agent to apply the write", 5*time.Second, func() bool {
		status, body := send(t, hc, "GET", c.URL(i)+"/service/web?stale", "")
		return status == http.StatusOK && strings.Contains(body, "10.0.0.1:80")
	})
}

func TestTLSAgentRefusesPlainHTTP(t *testing.T) {
	c := startTLS(t)
	l, _ := c.WaitForLeader(5 * time.Second)
	plain := "http://" + strings.TrimPrefix(c.URL(l), "https://")
	status, body := send(t, &http.Client{Timeout: 5 * time.Second}, "POST", plain+"/register", `{"name":"web","address":"10.0.0.1:80"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "HTTPS") {
		t.Fatalf("plain HTTP: %d %q, want 400 naming HTTPS", status, body)
	}
	// And nothing came of it.
	if status, body := send(t, c.HTTPClient(), "GET", c.URL(l)+"/service/web", ""); status != http.StatusNotFound {
		t.Fatalf("after the plain request: %d %s", status, body)
	}
	// A client that does not trust the CA refuses the agent.
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(c.URL(l) + "/alive"); err == nil {
		t.Fatal("a client without the CA trusted the agent")
	}
}

// TestTLSInternalRoutesNeedAPeerCertificate: the API lets clients in
// without a certificate, but the agents' own routes do not.
func TestTLSInternalRoutesNeedAPeerCertificate(t *testing.T) {
	c := startTLS(t)
	l, _ := c.WaitForLeader(5 * time.Second)
	url := c.URL(l) + "/internal/v1/read-index"
	asAgent, err := c.ClientTLS(true)
	if err != nil {
		t.Fatal(err)
	}
	foreign := foreignClient(t, c)
	status, body := send(t, c.HTTPClient(), "GET", url, "")
	if status != http.StatusUnauthorized || !strings.Contains(body, `"code":"no_client_cert"`) {
		t.Errorf("no certificate: %d %s", status, body)
	}
	if status, body := send(t, httpClient(asAgent), "GET", url, ""); status != http.StatusOK {
		t.Errorf("an agent's certificate: %d %s", status, body)
	}
	if _, err := httpClient(foreign).Get(url); err == nil {
		t.Error("a certificate from another CA was let through the handshake")
	}
	// The public API still serves a client without a certificate.
	if status, _ := send(t, c.HTTPClient(), "GET", c.URL(l)+"/alive", ""); status != http.StatusOK {
		t.Errorf("/alive without a certificate: %d", status)
	}
}

// foreignClient presents a certificate from another CA while trusting the
// cluster's: a hostile peer. (Go's client, unforced, offers no
// certificate the server's CA did not sign.)
func foreignClient(t *testing.T, c *agenttest.Cluster) *tls.Config {
	t.Helper()
	files, err := agenttest.ForeignTLS(t.TempDir(), "impostor")
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlsutil.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := c.ClientTLS(false)
	cfg := other.Client()
	cert := cfg.Certificates[0]
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	cfg.RootCAs = ours.RootCAs
	return cfg
}

func httpClient(cfg *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// dialStream is a client-side raft.StreamLayer with a TLS configuration
// of the test's choosing.
type dialStream struct {
	net.Listener
	cfg *tls.Config
}

func (s dialStream) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(a), s.cfg)
}

// appendEntries sends the leader a harmless AppendEntries (term 0, which
// it answers without changing anything) over a Raft transport using cfg.
func appendEntries(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	trans := raft.NewNetworkTransport(dialStream{ln, cfg}, 1, 2*time.Second, io.Discard)
	defer trans.Close()
	var resp raft.AppendEntriesResponse
	return trans.AppendEntries("probe", raft.ServerAddress(addr), &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("probe"), Addr: []byte(ln.Addr().String())},
	}, &resp)
}

func TestTLSRaftRefusesAPeerFromAnotherCA(t *testing.T) {
	c := startTLS(t)
	l, _ := c.WaitForLeader(5 * time.Second)
	addr := c.Agents[l].Node().RaftAddr()
	asAgent, _ := c.ClientTLS(true)
	anonymous, _ := c.ClientTLS(false)
	if err := appendEntries(t, addr, asAgent); err != nil {
		t.Fatalf("with an agent's certificate: %v", err)
	}
	for name, cfg := range map[string]*tls.Config{"another CA": foreignClient(t, c), "no certificate": anonymous} {
		if err := appendEntries(t, addr, cfg); err == nil {
			t.Errorf("%s: the leader answered a Raft RPC", name)
		}
	}
	// Plain TCP Raft to a TLS agent fails too.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	plain := raft.NewNetworkTransport(&plainStream{ln}, 1, 2*time.Second, io.Discard)
	defer plain.Close()
	var resp raft.AppendEntriesResponse
	if err := plain.AppendEntries("probe", raft.ServerAddress(addr), &raft.AppendEntriesRequest{}, &resp); err == nil {
		t.Error("plain TCP: the leader answered a Raft RPC")
	}

	// An agent whose certificate another CA signed gossips its way in
	// (gossip carries no certificates; the cluster key guards it) but
	// receives nothing over Raft and is never promoted.
	files, err := agenttest.ForeignTLS(t.TempDir(), "stranger1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.AddStranger(func(cfg *agent.Config) { cfg.TLS = files })
	if err != nil {
		t.Fatal(err)
	}
	if status, body := send(t, c.HTTPClient(), "POST", c.URL(l)+"/register", `{"name":"web","address":"10.0.0.1:80"}`); status != http.StatusCreated {
		t.Fatalf("register: %d %s", status, body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if s.Node().FSM().AppliedIndex() > 0 {
			t.Fatal("the stranger applied the cluster's log")
		}
		for _, v := range c.Voters(l) {
			if v == s.Node().ID() {
				t.Fatal("the stranger became a voter")
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type plainStream struct{ net.Listener }

func (s *plainStream) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(a), timeout)
}
