package api

import (
	"net/http"
	"strconv"

	"github.com/custodes/custodes/cluster"
	"github.com/labstack/echo/v4"
)

// alive handles GET /alive: the process answers.
func (s *Server) alive(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "alive", "node_id": s.cluster.ID()})
}

// ready handles GET /ready: a leader is known and this agent has applied
// what it knows to be committed.
func (s *Server) ready(c echo.Context) error {
	if s.cluster.Diverged() {
		return c.JSON(http.StatusServiceUnavailable, errorBody{Error: "not ready: " + cluster.ErrDiverged.Error()})
	}
	if !s.cluster.Ready() {
		return c.JSON(http.StatusServiceUnavailable, errorBody{Error: "not ready: no leader known or log not yet applied"})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "node_id": s.cluster.ID()})
}

// adminRaft handles GET /admin/raft.
func (s *Server) adminRaft(c echo.Context) error {
	st := s.cluster.Status()
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(st.FSMIndex, 10))
	return c.JSON(http.StatusOK, st)
}

// adminMembers handles GET /admin/members.
func (s *Server) adminMembers(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"members": s.cluster.Members()})
}

// adminHealth handles GET /admin/health: the leader's view of every
// server (followers ask the leader).
func (s *Server) adminHealth(c echo.Context) error {
	h, by, err := s.cluster.Health(c.Request().Context())
	ledBy(c, by)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h)
}

// removePeer handles POST /admin/raft/remove-peer {"id"}; the leader does
// the removal.
func (s *Server) removePeer(c echo.Context) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	var req cluster.RemovePeerRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.ID == "" {
		return invalidf("id is required")
	}
	if err := s.cluster.RemovePeer(c.Request().Context(), req.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"id": req.ID, "change": "removed"})
}

// leave handles POST /admin/leave: this agent decommissions itself (leaves
// gossip and the Raft configuration); the agent process then stops.
func (s *Server) leave(c echo.Context) error {
	if err := s.cluster.Leave(c.Request().Context()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"id": s.cluster.ID(), "change": "left"})
}
