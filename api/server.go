package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/directory"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/custodes/custodes/replication"
	"github.com/custodes/custodes/ui"
	"github.com/labstack/echo/v4"
)

// Cluster is what the handlers need from the agent's cluster layer
// (declared here, by its consumer; *cluster.Node implements it).
type Cluster interface {
	ID() string
	FSM() *fsm.FSM
	Propose(ctx context.Context, t fsm.MessageType, req any) (cluster.Applied, error)
	ConsistentRead(ctx context.Context) (uint64, error)
	Status() cluster.RaftStatus
	Health(ctx context.Context) (cluster.ClusterHealth, string, error)
	RemovePeer(ctx context.Context, id string) error
	InternalHandler() http.Handler
	Leave(ctx context.Context) error
	Members() []cluster.Member
	Ready() bool
	Diverged() bool
	WaitAllApplied(ctx context.Context, index uint64) error
}

// Health is what the handlers need from the health checker.
type Health interface {
	// Heartbeat renews a TTL check on the leader, wherever it is, and
	// names the leader that did. It fails with fsm.ErrNotFound, or an
	// error wrapping fsm.ErrConflict when the instance has no TTL check.
	Heartbeat(ctx context.Context, id string) (catalog.Instance, string, error)
}

// Config tunes the HTTP layer.
type Config struct {
	// MaxBlockingWait caps ?wait= on blocking reads.
	MaxBlockingWait time.Duration
	// EnableDebug serves Go's profiler under /debug/pprof/ (off by
	// default: profiles expose internals and cost CPU while taken).
	EnableDebug bool
	// Keys is the cluster key list (keyring.Parse). With keys, the admin
	// routes that change membership need a request signed with one of
	// them (cluster checks its own /internal/ protocol); without, they are
	// open.
	Keys   [][]byte
	Logger *slog.Logger
	// ACL is the token layer's configuration (api/acl.go).
	ACL ACLConfig
	// Limits bound what clients can hold or send (limits.go).
	Limits Limits
}

// DefaultConfig returns the HTTP layer's defaults.
func DefaultConfig() Config {
	return Config{
		MaxBlockingWait: 5 * time.Minute,
		Limits:          DefaultLimits(),
	}
}

// Server holds the echo router and what its handlers share.
type Server struct {
	e       *echo.Echo
	cluster Cluster
	health  Health
	// dir is the file system's directory; nil on an agent without one.
	dir *directory.Directory
	// sweep is the replication sweep (it acts only while this agent leads).
	sweep Replication
	done  chan struct{} // closed by Close: ends event streams
	cfg   Config
	log   *slog.Logger
	authz *authz
	// rotation picks the next instance per service name for "address".
	rotation sync.Map // name -> *atomic.Uint64
	// watchers and writes enforce cfg.Limits (limits.go, ratelimit.go);
	// writes is nil when the write limit is off.
	watchers *watchers
	writes   *writeLimiter
	// metrics is the agent's Prometheus registry (metrics.go).
	metrics *metrics
}

// Replication is what the handlers need of the replication sweep
// (*replication.Sweeper implements it).
type Replication interface {
	// Status asks the leader what its sweep is doing.
	Status(ctx context.Context) (replication.Status, error)
	// Kick asks this agent's sweep, if it leads, to run soon.
	Kick()
}

// New builds the router for one agent. d and r may be nil: the file
// system's routes then answer 404.
func New(c Cluster, h Health, d *directory.Directory, r Replication, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cluster: c,
		health:  h,
		dir:     d,
		sweep:   r,
		done:    make(chan struct{}),
		cfg:     cfg,
		log:     cfg.Logger,
	}
	s.watchers, s.writes = &watchers{max: int64(cfg.Limits.MaxWatchers)}, newWriteLimiter(cfg.Limits)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	s.metrics = newMetrics(c, h, r)
	e.Use(s.metrics.instrument, s.servedBy, s.writeDeadline, guardInput)
	// Tokens, roles and the cluster key's proof on admin routes, by one
	// table of routes (api/authz.go); then the write rate, per token.
	e.Use(s.authorize, s.limitWrites)

	e.GET("/alive", s.alive)
	e.GET("/ready", s.ready)
	e.GET("/openapi.json", s.openAPI)
	e.GET("/metrics", s.metricsView)
	// The dashboard (package ui): a static page, open; its scripts call
	// the routes below with the user's token.
	page := echo.WrapHandler(ui.New())
	e.GET(ui.Root, page)
	e.GET(ui.Prefix+"*", page)

	e.POST("/register", s.register)
	e.GET("/service/:name", s.service)
	e.GET("/services", s.services)
	e.GET("/instance/:id", s.instance)
	e.PUT("/instance/:id", s.updateInstance)
	e.DELETE("/instance/:id", s.deleteInstance)
	e.PUT("/instance/:id/heartbeat", s.heartbeat)
	e.GET("/events", s.events)

	e.GET("/admin/raft", s.adminRaft)
	e.GET("/admin/members", s.adminMembers)
	e.GET("/admin/health", s.adminHealth)
	// The operator's proof of the key is checked on the agent called; the
	// leader, if it is another agent, is reached over the signed internal
	// protocol.
	e.POST("/admin/raft/remove-peer", s.removePeer)
	e.POST("/admin/leave", s.leave)
	e.GET("/admin/snapshot", s.adminSnapshotSave)
	e.PUT("/admin/snapshot", s.adminSnapshotRestore)
	s.aclRoutes(e)
	s.dfsRoutes(e)
	// The agents' own protocol: cluster owns both halves, and checks the
	// key on every call.
	e.Any("/internal/*", echo.WrapHandler(c.InternalHandler()))
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
	s.authz = newAuthz(cfg.ACL, cfg.Keys, registeredRoutes(e))
	return s
}

// Handler is the agent's HTTP handler.
func (s *Server) Handler() http.Handler { return s.e }

// Close ends event streams.
func (s *Server) Close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

// servedBy names the agent on every answer; an answer the leader gave
// names the leader instead (see ledBy).
func (s *Server) servedBy(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(HeaderServedBy, s.cluster.ID())
		return next(c)
	}
}

// Response headers.
const (
	HeaderIndex    = "X-Custodes-Index"
	HeaderServedBy = "X-Custodes-Served-By"
)

// ledBy names the leader that answered a call this agent passed on.
func ledBy(c echo.Context, id string) {
	if id != "" {
		c.Response().Header().Set(HeaderServedBy, id)
	}
}

// requestBody reads the request's body, bounded by MaxBodyBytes.
func requestBody(c echo.Context) ([]byte, error) {
	return readBody(c.Response(), c.Request())
}
