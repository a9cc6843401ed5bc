package agent

import (
	"crypto/tls"
	"log"
	"log/slog"
	"net"

	"github.com/custodes/custodes/tlsutil"
)

// loadTLS reads the certificate files into the cluster layer's config.
// Loading here, at validation, makes a missing or mismatched file a
// configuration error naming its flag before anything listens. A config
// without files turns TLS off even if Cluster.TLS was set (a restart
// with another Config).
func (c *Config) loadTLS() error {
	t, err := tlsutil.Load(c.TLS)
	if err != nil {
		return err
	}
	c.Cluster.TLS = t
	return nil
}

// serveTLS wraps the API's listener in TLS when configured. The public
// API and the internal routes share it; cluster refuses internal calls
// without a verified peer certificate itself.
func serveTLS(ln net.Listener, cfg Config) net.Listener {
	t := cfg.Cluster.TLS
	if t == nil {
		return ln
	}
	cfg.Cluster.Logger.Info("TLS on: the API is served over HTTPS; Raft and agent-to-agent calls use mutual TLS",
		"cert", cfg.TLS.CertFile, "ca", cfg.TLS.CAFile, "verify_incoming", t.VerifyIncoming(),
		"require_client_cert", cfg.TLS.RequireClientCert, "expires", t.Leaf().NotAfter)
	return tls.NewListener(ln, t.HTTPServer())
}

// URL is the agent's base URL: https with TLS.
func (a *Agent) URL() string {
	if a.cfg.Cluster.TLS != nil {
		return "https://" + a.HTTPAddr()
	}
	return "http://" + a.HTTPAddr()
}

// serverErrorLog sends net/http's own lines (refused TLS handshakes: a
// plain-HTTP client, a peer with a certificate from another CA) to the
// agent's logger as warnings, rather than to the standard logger on
// stderr, so they carry the agent's format and attributes.
func serverErrorLog(cfg Config) *log.Logger {
	return slog.NewLogLogger(cfg.Cluster.Logger.With("component", "http").Handler(), slog.LevelWarn)
}
