// Package keyring owns the cluster key: the secret every agent of one
// cluster holds, that keeps others out of its gossip pool and its
// agent-to-agent HTTP calls.
//
// A key is 32 random bytes, written in standard base64 (Generate). An agent
// is given a comma-separated list (--encrypt, --encrypt-file or the
// CUSTODES_ENCRYPT environment variable; Load): the first key encrypts and
// signs, every key of the list decrypts and verifies, so a key can be
// rolled without downtime.
//
// Gossip: Memberlist builds memberlist's keyring from the list; with it
// memberlist encrypts and authenticates (AES-GCM) every packet and stream,
// and refuses unencrypted ones.
//
// HTTP: every agent-to-agent request carries the header X-Custodes-Auth
// (Signer, Transport), "<unix-nanos>.<nonce>.<hex HMAC-SHA256>" over the
// method, the request URI, the time, the nonce and the SHA-256 of the body,
// keyed by a key derived from the cluster key (never the key itself, which
// is also memberlist's AES key). The receiving agent (Verifier) checks it
// against every key of its list in constant time, refuses times outside a
// window (5 s by default) and refuses a signature it has already seen
// within that window (a replay).
//
// Streamed bodies (a file server's copies, too large to hash before
// sending): Signer.SignStreamed signs the method, host, URI, time and
// nonce with a fixed marker in place of the body hash, and appends ".s" to
// the header value. No body hash equals the marker, so a streamed
// signature never verifies as a normal one, nor the reverse. A Verifier
// accepts one only on the requests VerifierConfig.Streamed allows, and
// then leaves the body unread: the receiver checks the bytes itself.
//
// The package imports nothing of custodes' own, so the cluster layer, the
// api and the command line can all use it.
package keyring
