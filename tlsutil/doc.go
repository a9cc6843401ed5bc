// Package tlsutil owns custodes' TLS material: making a private CA and the
// certificates it signs (`custodes tls ca`, `custodes tls cert`), writing
// and loading them as PEM files, and the *tls.Config of each place an
// agent speaks TLS.
//
// One CA per cluster. Every agent holds a leaf certificate signed by it
// that is valid both as a server (its HTTP API, its Raft listener) and as
// a client (its calls to peers, its Raft dials), so the same three files
// (--tls-cert, --tls-key, --tls-ca) serve every role. Peers are verified
// against the CA only: a certificate from any other CA, even a public
// one, is refused.
//
// The configurations (TLS):
//
//   - HTTPServer: the public API. Clients need not present a certificate
//     (VerifyClientCertIfGiven) unless RequireClientCert; one that is
//     presented must verify. The internal routes share this listener, so
//     they check the verified chain themselves (VerifiedPeer).
//   - Client: an agent's calls to its peers and its Raft dials: trusts the
//     CA alone and presents the agent's certificate.
//   - RaftServer: the Raft listener; with VerifyIncoming (the default) a
//     dialler without a certificate from the CA is refused in the
//     handshake.
//
// Keys are ECDSA P-256, serials 128 random bits, TLS 1.2 at least.
// Imports nothing of ours.
package tlsutil
