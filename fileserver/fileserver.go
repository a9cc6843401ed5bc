package fileserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/keyring"
	"github.com/custodes/custodes/tlsutil"
	"github.com/hashicorp/go-hclog"
)

// RegisterPath is the agent route a file server registers through.
const RegisterPath = "/dfs/register"

// RegisterRequest is the body of POST /dfs/register.
type RegisterRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// Server is a running file server.
type Server struct {
	cfg    Config
	store  *Store
	ln     net.Listener
	http   *http.Server
	pool   *gossip.Pool
	client *Client // signed, TLS when configured: copy-to and registration
	log    *slog.Logger

	registered atomic.Bool
	scrubMu    sync.Mutex // one scrub at a time
	statsMu    sync.Mutex
	scrubStats ScrubStats
	stop       chan struct{}
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

// Start opens the store, binds the HTTP listener, joins gossip as role
// file and starts registering with the directory in the background
// (Registered reports when an agent accepted it).
func Start(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := OpenStore(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	t, err := tlsutil.Load(cfg.TLS)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: store, log: cfg.Logger.With("fileserver", cfg.ID), stop: make(chan struct{})}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	s.client = &Client{HTTP: &http.Client{Transport: transport}, Signer: keyring.NewSigner(cfg.Keys), Scheme: "http"}
	var serverTLS *tls.Config
	if t != nil {
		serverTLS = t.RaftServer() // peers (agents) must show the CA's certificate with VerifyIncoming
		transport.TLSClientConfig = t.Client()
		s.client.Scheme = "https"
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	if serverTLS != nil {
		ln = tls.NewListener(ln, serverTLS)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler: NewHandler(HandlerConfig{
			ID: cfg.ID, Store: store, Keys: cfg.Keys, Client: s.client,
			MaxCopySize: cfg.MaxCopySize, Logger: s.log,
			Metrics: NewMetrics(store, s.ScrubStats),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.pool, err = gossip.Start(gossip.Config{
		Name: cfg.ID, BindAddr: cfg.GossipAddr,
		GossipInterval: cfg.GossipInterval, ProbeInterval: cfg.ProbeInterval,
		ProbeTimeout: cfg.ProbeTimeout, SuspicionMult: cfg.SuspicionMult,
		Keys: cfg.Keys, Logger: hclogFor(s.log),
	}, gossip.Meta{Role: gossip.RoleFile, ID: cfg.ID, HTTP: s.Addr()})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	go func() { defer s.wg.Done(); s.joinLoop() }()
	go func() { defer s.wg.Done(); s.registerLoop() }()
	if cfg.ScrubInterval > 0 {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.scrubLoop() }()
	}
	s.log.Info("file server started", "http", s.Addr(), "gossip", s.pool.Addr())
	return s, nil
}

// hclogFor adapts the server's logger for memberlist (warnings and up).
func hclogFor(l *slog.Logger) hclog.Logger {
	return hclog.FromStandardLogger(slog.NewLogLogger(l.Handler(), slog.LevelWarn), &hclog.LoggerOptions{Level: hclog.Warn})
}

// Addr is the HTTP address actually bound.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// GossipAddr is the gossip address actually bound.
func (s *Server) GossipAddr() string { return s.pool.Addr() }

// ID is the server's id.
func (s *Server) ID() string { return s.cfg.ID }

// Config is the configuration the server runs with (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Store is the server's store.
func (s *Server) Store() *Store { return s.store }

// Members is the gossip members this server knows of.
func (s *Server) Members() []gossip.Member { return s.pool.Members() }

// Registered reports whether an agent accepted this run's registration.
func (s *Server) Registered() bool { return s.registered.Load() }

// backoff waits d (with up to 20 % jitter) or until stop; false on stop.
func (s *Server) backoff(d time.Duration) bool {
	d += time.Duration(rand.Int64N(int64(d)/5 + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stop:
		return false
	case <-t.C:
		return true
	}
}

// joinLoop joins cfg.Join, retrying with backoff until some member
// other than this server is known.
func (s *Server) joinLoop() {
	if len(s.cfg.Join) == 0 {
		return
	}
	wait := s.cfg.RegisterInterval
	for {
		err := s.pool.Join(s.cfg.Join)
		if err == nil {
			return
		}
		s.log.Warn("gossip join failed; retrying", "join", s.cfg.Join, "err", err, "in", wait)
		if !s.backoff(wait) {
			return
		}
		wait = min(2*wait, 16*s.cfg.RegisterInterval)
	}
}

// agents returns the HTTP addresses to register with: cfg.Agents, or the
// live registry members' of gossip.
func (s *Server) agents() []string {
	if len(s.cfg.Agents) > 0 {
		return s.cfg.Agents
	}
	var out []string
	for _, m := range s.pool.Members() {
		if m.Role == gossip.RoleRegistry && m.State == gossip.StateAlive && m.HTTP != "" {
			out = append(out, m.HTTP)
		}
	}
	return out
}

// registerLoop calls POST /dfs/register on the agents, one after the
// other, until one accepts; it waits RegisterInterval after a round that
// failed, doubling up to 16 times that.
func (s *Server) registerLoop() {
	wait := s.cfg.RegisterInterval
	for {
		agents := s.agents()
		rand.Shuffle(len(agents), func(i, j int) { agents[i], agents[j] = agents[j], agents[i] })
		var errs []error
		for _, a := range agents {
			err := s.register(a)
			if err == nil {
				s.registered.Store(true)
				s.log.Info("registered with the directory", "agent", a, "address", s.Addr())
				return
			}
			errs = append(errs, err)
		}
		if len(agents) == 0 {
			errs = append(errs, errors.New("no agent known yet"))
		}
		s.log.Warn("registration failed; retrying", "err", errors.Join(errs...), "in", wait)
		if !s.backoff(wait) {
			return
		}
		wait = min(2*wait, 16*s.cfg.RegisterInterval)
	}
}

// register makes one registration call to the agent at addr.
func (s *Server) register(addr string) error {
	body, _ := json.Marshal(RegisterRequest{ID: s.cfg.ID, Address: s.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.client.url(addr, RegisterPath), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.do(req, body, false)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	_ = resp.Body.Close()
	return nil
}

// Stop leaves gossip gracefully and shuts the HTTP server down, letting
// requests in flight finish (for up to 5 s).
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		close(s.stop)
		err = s.pool.Leave(time.Second)
		_ = s.pool.Shutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if herr := s.http.Shutdown(ctx); herr != nil {
			_ = s.http.Close()
		}
		s.wg.Wait()
		s.client.HTTP.CloseIdleConnections()
	})
	return err
}

// SilenceGossip stops this server's gossip, without a leave message,
// while it goes on serving: the agents' gossip sees it die though it
// answers, as in a partition of the gossip port alone. For tests and
// drills; Stop and Kill still stop the rest.
func (s *Server) SilenceGossip() error { return s.pool.Shutdown() }

// Kill stops at once, as a crash would: the listener and its connections
// close and gossip stops without a leave message, so the others see this
// server die.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		close(s.stop)
		_ = s.pool.Shutdown()
		_ = s.http.Close()
		s.wg.Wait()
		s.client.HTTP.CloseIdleConnections()
	})
}
