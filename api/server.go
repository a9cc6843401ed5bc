package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/keyring"
	"github.com/labstack/echo/v4"
)

// Cluster is what the handlers need from the agent's cluster layer
// (declared here, by its consumer; *cluster.Node implements it).
type Cluster interface {
	ID() string
	FSM() *fsm.FSM
	IsLeader() bool
	Apply(t fsm.MessageType, req any) (any, uint64, error)
	Leader() (cluster.LeaderInfo, bool)
	WaitForLeader(ctx context.Context) (cluster.LeaderInfo, error)
	ApplyEncoded(data []byte) (*fsm.Result, uint64, error)
	ReadIndex(ctx context.Context) (uint64, error)
	ConsistentRead(ctx context.Context) (uint64, error)
	Status() cluster.RaftStatus
	Health() (cluster.ClusterHealth, error)
	RemovePeer(id string) error
	Leave(ctx context.Context) error
	Members() []cluster.Member
	Ready() bool
}

// Health is what the handlers need from the health checker.
type Health interface {
	// Heartbeat renews a TTL check (on the leader). It fails with
	// cluster.ErrNotLeader, fsm.ErrNotFound, or an error wrapping
	// fsm.ErrConflict when the instance has no TTL check.
	Heartbeat(ctx context.Context, id string) (fsm.Instance, error)
}

// Config tunes the HTTP layer.
type Config struct {
	// LeaderWait bounds how long a write waits for a leader (then 503).
	LeaderWait time.Duration
	// ForwardTimeout bounds one forwarded write's round trip to the leader.
	ForwardTimeout time.Duration
	// MaxBlockingWait caps ?wait= on blocking reads.
	MaxBlockingWait time.Duration
	// MinCheckInterval and MinDeregisterAfter bound what a registration's
	// check may ask for (tests lower them).
	MinCheckInterval   time.Duration
	MinDeregisterAfter time.Duration
	// ForwardInFlight is how many batches of forwarded writes a follower
	// keeps out to the leader at once; writes arriving meanwhile wait and
	// leave together in the next batch.
	ForwardInFlight int
	// EnableDebug serves Go's profiler under /debug/pprof/ (off by
	// default: profiles expose internals and cost CPU while taken).
	EnableDebug bool
	// Keys is the cluster key list (keyring.Parse). With keys, every
	// /internal/ route and the admin routes that change membership need a
	// request signed with one of them, and forwarded writes are signed;
	// without, they are open.
	Keys   [][]byte
	Logger *slog.Logger
}

// DefaultConfig returns the HTTP layer's defaults.
func DefaultConfig() Config {
	return Config{
		LeaderWait: 5 * time.Second, ForwardTimeout: 15 * time.Second, MaxBlockingWait: 5 * time.Minute,
		MinCheckInterval: time.Second, MinDeregisterAfter: time.Minute,
		ForwardInFlight: 16,
	}
}

// Server holds the echo router and what its handlers share.
type Server struct {
	e         *echo.Echo
	cluster   Cluster
	health    Health
	done      chan struct{} // closed by Close: ends event streams
	cfg       Config
	log       *slog.Logger
	fwd       *http.Client
	forwarder *forwarder
	// rotation picks the next instance per service name for "address".
	rotation sync.Map // name -> *atomic.Uint64
}

// New builds the router for one agent.
func New(c Cluster, h Health, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cluster: c,
		health:  h,
		done:    make(chan struct{}),
		cfg:     cfg,
		log:     cfg.Logger,
		fwd: &http.Client{
			Timeout: cfg.ForwardTimeout,
			// Redirects are the leader's answer, passed on as they are.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: keyring.Transport(cfg.Keys, &http.Transport{
				MaxIdleConns:        512,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     90 * time.Second,
				DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			}),
		},
	}
	if cfg.ForwardInFlight < 1 {
		cfg.ForwardInFlight = 1
	}
	s.forwarder = newForwarder(s.fwd, c.ID(), cfg.ForwardTimeout, cfg.ForwardInFlight)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.servedBy)
	internalAuth, adminAuth := keyAuth(cfg.Keys)
	e.Use(internalAuth)

	e.GET("/alive", s.alive)
	e.GET("/ready", s.ready)

	e.POST("/register", s.register, s.forwardWrites)
	e.GET("/service/:name", s.service)
	e.GET("/services", s.services)
	e.GET("/instance/:id", s.instance)
	e.PUT("/instance/:id", s.updateInstance, s.forwardWrites)
	e.DELETE("/instance/:id", s.deleteInstance, s.forwardWrites)
	e.PUT("/instance/:id/heartbeat", s.heartbeat, s.forwardWrites)
	e.GET("/events", s.events)

	e.GET("/admin/raft", s.adminRaft)
	e.GET("/admin/members", s.adminMembers)
	e.GET("/admin/health", s.adminHealth, s.forwardWrites)
	// The key is checked before forwardWrites, on the agent the operator
	// called; the leader trusts the follower's signed batch.
	e.POST(cluster.RemovePeerPath, s.removePeer, adminAuth, s.forwardWrites)
	e.POST("/admin/leave", s.leave, adminAuth)
	e.GET(cluster.ReadIndexPath, s.readIndex)
	e.POST(cluster.ApplyPath, s.internalApply)
	e.POST(ForwardPath, s.forwardBatch)
	if cfg.EnableDebug {
		// Index serves the runtime's named profiles (heap, goroutine,
		// allocs...) below its prefix; the other four have handlers of
		// their own.
		e.GET("/debug/pprof/*", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
		e.GET("/debug/pprof/cmdline", echo.WrapHandler(http.HandlerFunc(pprof.Cmdline)))
		e.GET("/debug/pprof/profile", echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
		e.GET("/debug/pprof/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
		e.GET("/debug/pprof/trace", echo.WrapHandler(http.HandlerFunc(pprof.Trace)))
	}
	s.e = e
	return s
}

// Handler is the agent's HTTP handler.
func (s *Server) Handler() http.Handler { return s.e }

// Close ends event streams and releases idle forwarding connections.
func (s *Server) Close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.forwarder.close()
	s.fwd.CloseIdleConnections()
}

// servedBy names the agent on every answer.
func (s *Server) servedBy(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(HeaderServedBy, s.cluster.ID())
		return next(c)
	}
}

// Response headers.
const (
	HeaderIndex     = "X-Custodes-Index"
	HeaderServedBy  = "X-Custodes-Served-By"
	headerForwarded = "X-Custodes-Forwarded-By"
	headerNotLeader = "X-Custodes-Not-Leader"
)
