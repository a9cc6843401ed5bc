package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/directory"
	"github.com/custodes/custodes/fsm"
	"github.com/labstack/echo/v4"
)

// Sentinels owned by the api layer.
var (
	// ErrInvalid wraps every problem with the client's input (400). It is
	// the state machine's own, so a request its Validate refuses is a 400
	// like any other.
	ErrInvalid = fsm.ErrInvalid
	// ErrTooLarge: the body is over the limit (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrNotFound: the named thing does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrForward: the leader could not be reached or did not answer (503).
	ErrForward = errors.New("forwarding to the leader failed")
	// ErrMediaType: a request body not labelled as JSON (415).
	ErrMediaType = errors.New("unsupported media type")
	// ErrCrossOrigin: a browser sent a write for another site's page (403).
	ErrCrossOrigin = errors.New("cross-origin write refused")
	// ErrTooManyRequests: a limit of this agent refused the request (429,
	// with Retry-After); see limits.go.
	ErrTooManyRequests = errors.New("too many requests")
)

// invalidf builds a 400 error whose message names the problem.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// errorBody is the shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// statusOf maps an error to its HTTP status. This is the only place that
// does so.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, ErrInvalid), errors.Is(err, fsm.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, fsm.ErrLockNotHeld):
		return http.StatusLocked
	case errors.Is(err, fsm.ErrFileNotFound), errors.Is(err, fsm.ErrServerNotFound):
		return http.StatusNotFound
	case errors.Is(err, fsm.ErrFileExists), errors.Is(err, fsm.ErrStaleVersion),
		errors.Is(err, directory.ErrLocked), errors.Is(err, directory.ErrNotHolder), errors.Is(err, directory.ErrNotDrainable):
		return http.StatusConflict
	case errors.Is(err, fsm.ErrNotOwner):
		return http.StatusForbidden
	case errors.Is(err, directory.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, directory.ErrNoFileServer), errors.Is(err, directory.ErrNoLiveCopy), errors.Is(err, directory.ErrStoreFailed), errors.Is(err, directory.ErrTooSlow):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTooLarge), errors.Is(err, cluster.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrCrossOrigin), errors.Is(err, ErrForbidden), errors.Is(err, fsm.ErrAlreadyBootstrapped):
		return http.StatusForbidden
	case errors.Is(err, ErrUnauthorized), errors.Is(err, cluster.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, fsm.ErrUserExists), errors.Is(err, fsm.ErrTokenInUse), errors.Is(err, fsm.ErrLastManagement):
		return http.StatusConflict
	case errors.Is(err, fsm.ErrUserNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrTooManyRequests):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrNotFound), errors.Is(err, fsm.ErrNotFound), errors.Is(err, cluster.ErrUnknownPeer):
		return http.StatusNotFound
	case errors.Is(err, fsm.ErrConflict), errors.Is(err, cluster.ErrUnsafe):
		return http.StatusConflict
	case errors.Is(err, cluster.ErrNoLeader), errors.Is(err, cluster.ErrNotLeader),
		errors.Is(err, cluster.ErrTimeout), errors.Is(err, cluster.ErrShutdown),
		errors.Is(err, cluster.ErrLeadershipLost), errors.Is(err, ErrForward), errors.Is(err, cluster.ErrDiverged):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorHandler is echo's HTTPErrorHandler: the router's own 404 and 405
// leave through it too, in the same {"error"} body.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := statusOf(err)
	msg := err.Error()
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			msg = fmt.Sprintf("no route for %s %s", c.Request().Method, c.Request().URL.Path)
		case http.StatusMethodNotAllowed:
			msg = fmt.Sprintf("method %s is not allowed on %s", c.Request().Method, c.Request().URL.Path)
		default:
			msg = fmt.Sprint(he.Message)
		}
	}
	if status == http.StatusInternalServerError {
		s.log.Error("internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		msg = "internal error"
	}
	if status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	if status == http.StatusTooManyRequests {
		retry := time.Second
		var le *limitError
		if errors.As(err, &le) {
			retry = le.retry
		}
		c.Response().Header().Set("Retry-After", retryAfter(retry))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: msg})
}
