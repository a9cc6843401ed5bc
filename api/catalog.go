package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
	"github.com/labstack/echo/v4"
)

// register handles POST /register on any agent: the request is validated
// here and the leader stamps the id and time.
func (s *Server) register(c echo.Context) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	var b registerBody
	if err := decodeJSON(body, &b); err != nil {
		return err
	}
	check, err := parseCheck(b.Check, b.Address)
	if err != nil {
		return err
	}
	req := &catalog.RegisterRequest{
		Name: b.Name, Address: b.Address, Version: b.Version,
		Kind: b.Kind, Tags: b.Tags, Meta: b.Meta, Check: check, Rectify: b.Rectify,
	}
	a, err := s.cluster.Propose(c.Request().Context(), fsm.RegisterRequestType, req)
	ledBy(c, a.By)
	if err != nil {
		return err
	}
	res := a.Resp.(*catalog.Result)
	status := http.StatusOK
	if res.Change == catalog.Created {
		status = http.StatusCreated
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(res.Index, 10))
	return c.JSON(status, res)
}

// updateInstance handles PUT /instance/{id}.
func (s *Server) updateInstance(c echo.Context) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	var b updateBody
	if err := decodeJSON(body, &b); err != nil {
		return err
	}
	req := &catalog.UpdateInstanceRequest{
		ID: c.Param("id"), Version: b.Version, Kind: b.Kind, Address: b.Address,
		Tags: b.Tags, Meta: b.Meta,
	}
	return s.applyInstance(c, fsm.UpdateInstanceRequestType, req)
}

// deleteInstance handles DELETE /instance/{id}.
func (s *Server) deleteInstance(c echo.Context) error {
	return s.applyInstance(c, fsm.DeregisterRequestType, &catalog.DeregisterRequest{ID: c.Param("id")})
}

func (s *Server) applyInstance(c echo.Context, t fsm.MessageType, req any) error {
	a, err := s.cluster.Propose(c.Request().Context(), t, req)
	ledBy(c, a.By)
	if err != nil {
		if errors.Is(err, fsm.ErrNotFound) {
			return fmt.Errorf("instance %q: %w", c.Param("id"), fsm.ErrNotFound)
		}
		if errors.Is(err, fsm.ErrConflict) {
			return fmt.Errorf("%w: another instance of this service already has that address", fsm.ErrConflict)
		}
		return err
	}
	res := a.Resp.(*catalog.Result)
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(res.Index, 10))
	return c.JSON(http.StatusOK, res)
}

// consistentRead performs the read's consistency step: by default a
// linearizable read index; with ?stale, none, but never from a state that
// diverged from the cluster's (stale is old, not wrong).
func (s *Server) consistentRead(c echo.Context) error {
	if _, stale := c.QueryParams()["stale"]; stale {
		if s.cluster.Diverged() {
			return cluster.ErrDiverged
		}
		return nil
	}
	_, err := s.cluster.ConsistentRead(c.Request().Context())
	return err
}

// serviceAnswer is the body of GET /service/{name}.
type serviceAnswer struct {
	Name      string         `json:"name"`
	Address   string         `json:"address"`
	Instances []instanceView `json:"instances"`
	Index     uint64         `json:"index"`
}

// service handles GET /service/{name}[?version=][&index=&wait=][&stale].
func (s *Server) service(c echo.Context) error {
	name := c.Param("name")
	if err := validName("service name", name); err != nil {
		return err
	}
	version := c.QueryParam("version")
	minIndex, wait, err := s.blockingParams(c)
	if err != nil {
		return err
	}
	if minIndex > 0 {
		// Only a lookup that may block holds a watcher's place.
		if err := s.watchers.acquire(); err != nil {
			return err
		}
		defer s.watchers.release()
		s.extendWrite(c, wait)
	}
	if err := s.consistentRead(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var cancel context.CancelFunc = func() {}
	if minIndex > 0 {
		ctx, cancel = context.WithTimeout(ctx, wait)
	}
	defer cancel()
	for {
		list, index, changed := s.cluster.FSM().Service(name, version)
		index = max(index, 1) // 0 would make "block until > 0" return at once forever
		if index > minIndex || ctx.Err() != nil {
			c.Response().Header().Set(HeaderIndex, strconv.FormatUint(index, 10))
			return s.serviceReply(c, name, version, list, index)
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
	}
}

// serviceReply answers a lookup: passing instances (all of them with
// ?all=true) and one passing address to use. When every instance is
// critical it answers 503 with them, never a dead address.
func (s *Server) serviceReply(c echo.Context, name, version string, list []catalog.Instance, index uint64) error {
	if len(list) == 0 {
		if version != "" {
			return fmt.Errorf("%w: no instance of service %q has version %q", ErrNotFound, name, version)
		}
		return fmt.Errorf("%w: service %q has no instances", ErrNotFound, name)
	}
	_, all := c.QueryParams()["all"]
	if all && c.QueryParam("all") != "" && c.QueryParam("all") != "true" && c.QueryParam("all") != "false" {
		return invalidf("all %q must be true or false", c.QueryParam("all"))
	}
	all = all && c.QueryParam("all") != "false"
	var passing []catalog.Instance
	for _, in := range list {
		if in.Status != catalog.StatusCritical {
			passing = append(passing, in)
		}
	}
	if len(passing) == 0 {
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, map[string]any{
			"error":     fmt.Sprintf("every instance of service %q is critical", name),
			"name":      name,
			"instances": viewsOf(list),
			"index":     index,
		})
	}
	shown := passing
	if all {
		shown = list
	}
	return c.JSON(http.StatusOK, serviceAnswer{
		Name: name, Address: passing[s.next(name, len(passing))].Address,
		Instances: viewsOf(shown), Index: index,
	})
}

// next rotates through a service's instances, per agent, without Raft.
func (s *Server) next(name string, n int) int {
	v, _ := s.rotation.LoadOrStore(name, new(atomic.Uint64))
	return int((v.(*atomic.Uint64).Add(1) - 1) % uint64(n))
}

// blockingParams parses ?index=N&wait=D. wait defaults to, and is capped
// at, MaxBlockingWait.
func (s *Server) blockingParams(c echo.Context) (uint64, time.Duration, error) {
	raw := c.QueryParam("index")
	wait := s.cfg.MaxBlockingWait
	if w := c.QueryParam("wait"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d < 0 {
			return 0, 0, invalidf("wait %q is not a duration such as 30s or 5m", w)
		}
		wait = min(d, s.cfg.MaxBlockingWait)
	}
	if raw == "" {
		return 0, wait, nil
	}
	idx, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, 0, invalidf("index %q is not a non-negative integer", raw)
	}
	return idx, wait, nil
}

// servicesAnswer is the body of GET /services.
type servicesAnswer struct {
	Services []serviceEntry `json:"services"`
	Page     int            `json:"page"`
	PerPage  int            `json:"per_page"`
	Total    int            `json:"total"`
}

type serviceEntry struct {
	Name      string         `json:"name"`
	Instances []instanceView `json:"instances"`
}

func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return def, nil
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < lo || v > hi {
		return 0, invalidf("%s %q must be a whole number from %d to %d", name, raw, lo, hi)
	}
	return v, nil
}

// services handles GET /services[?page=&per_page=].
func (s *Server) services(c echo.Context) error {
	page, err := intParam(c, "page", 1, 1, 1<<30)
	if err != nil {
		return err
	}
	perPage, err := intParam(c, "per_page", 100, 1, 1000)
	if err != nil {
		return err
	}
	if err := s.consistentRead(c); err != nil {
		return err
	}
	f := s.cluster.FSM()
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(f.AppliedIndex(), 10))
	names := f.ServiceNames()
	ans := servicesAnswer{Services: []serviceEntry{}, Page: page, PerPage: perPage, Total: len(names)}
	start := (page - 1) * perPage
	for i := start; i < len(names) && i < start+perPage; i++ {
		list, _, _ := f.Service(names[i], "")
		ans.Services = append(ans.Services, serviceEntry{Name: names[i], Instances: viewsOf(list)})
	}
	return c.JSON(http.StatusOK, ans)
}

// instance handles GET /instance/{id}.
func (s *Server) instance(c echo.Context) error {
	if err := s.consistentRead(c); err != nil {
		return err
	}
	f := s.cluster.FSM()
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(f.AppliedIndex(), 10))
	inst, ok := f.Instance(c.Param("id"))
	if !ok {
		return fmt.Errorf("%w: instance %q", ErrNotFound, c.Param("id"))
	}
	return c.JSON(http.StatusOK, viewOf(inst))
}
