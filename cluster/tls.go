package cluster

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/custodes/custodes/tlsutil"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// TLS between agents (Config.TLS): Raft's stream layer, the scheme and
// client configuration of calls to peers, and the certificate check on
// the internal routes. Without TLS each falls back to what it was.

// Raft transport settings, as raft.NewTCPTransport's callers use them: a
// pool of 3 connections per peer, 10 s for an RPC's I/O.
const (
	raftMaxPool = 3
	raftTimeout = 10 * time.Second
)

// newRaftTransport builds the Raft transport bound at bind: plain TCP
// without TLS, else the same transport over a stream layer that speaks
// mutual TLS. advertise is what peers are told (nil: the bound address,
// so a port 0 is resolved), as raft.NewTCPTransport does.
func newRaftTransport(bind string, advertise net.Addr, t *tlsutil.TLS, logger hclog.Logger) (*raft.NetworkTransport, error) {
	// MaxRPCsInFlight 1 turns pipelined replication off. With it on, a
	// leader shutting down while a follower was slow to answer could wait
	// forever (hashicorp/raft 1.7.3: the pipeline's decoder blocks handing a
	// response to the consumer that already stopped, and the sender blocks
	// behind it), which hung agents' shutdowns in tests under load; raft's
	// own documentation finds pipelining of little benefit with batching.
	cfg := &raft.NetworkTransportConfig{MaxPool: raftMaxPool, Timeout: raftTimeout, Logger: logger, MaxRPCsInFlight: 1}
	if t == nil {
		return raft.NewTCPTransportWithConfig(bind, advertise, cfg)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	s := &tlsStream{
		Listener:  tls.NewListener(ln, t.RaftServer()),
		advertise: advertise,
		client:    t.Client(),
	}
	// Peers dial what is advertised: an unspecified address (0.0.0.0)
	// reaches no one (raft.NewTCPTransport refuses it too).
	if a, ok := s.Addr().(*net.TCPAddr); !ok || a.IP == nil || a.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, errors.New("raft: local bind address is not advertisable; give a specific --raft address")
	}
	cfg.Stream = s
	return raft.NewNetworkTransportWithConfig(cfg), nil
}

// tlsStream is a raft.StreamLayer over TLS. Accept returns connections
// whose handshake runs on their first read, in the transport's goroutine
// for that connection, so one slow or hostile dialler never holds up the
// accept loop; a refused handshake fails that read and the transport
// drops the connection.
type tlsStream struct {
	net.Listener
	advertise net.Addr
	client    *tls.Config
}

// Dial connects to a peer's Raft address and completes the handshake
// within timeout, verifying the peer's certificate against the CA for
// the address dialled.
func (s *tlsStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.client)
}

// Addr is the advertised address, or the bound one.
func (s *tlsStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.Listener.Addr()
}

// peerTLS is the client configuration of calls to peers; nil without TLS.
func peerTLS(t *tlsutil.TLS) *tls.Config {
	if t == nil {
		return nil
	}
	return t.Client()
}

// scheme is how peers' HTTP addresses are called: every agent of a
// cluster serves the same one.
func (n *Node) scheme() string {
	if n.cfg.TLS != nil {
		return "https://"
	}
	return "http://"
}

// errNoPeerCert refuses an internal call from a caller that showed no
// certificate from the CA.
var errNoPeerCert = errors.New("agent-to-agent calls need a client certificate from the cluster's CA")

// requirePeerCert guards the internal routes when TLS verifies incoming
// connections. The HTTP listener is shared with the public API, which
// lets clients in without a certificate, so the handshake alone does not
// keep them out of /internal/: a certificate from another CA already
// failed it, and a missing one is refused here (401, code
// "no_client_cert").
func (n *Node) requirePeerCert(h http.Handler) http.Handler {
	if n.cfg.TLS == nil || !n.cfg.TLS.VerifyIncoming() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tlsutil.VerifiedPeer(r.TLS) {
			writeJSON(w, http.StatusUnauthorized, errorAnswer{Code: "no_client_cert", Error: errNoPeerCert.Error()})
			return
		}
		h.ServeHTTP(w, r)
	})
}
