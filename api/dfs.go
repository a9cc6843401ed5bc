package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custodes/custodes/directory"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/replication"
	"github.com/labstack/echo/v4"
)

// The file system's routes (issue 9): thin handlers over directory, which
// moves the bytes between the client and the file servers and proposes
// the metadata. Every route needs a user's token.

// HeaderLockToken carries a lock token on /unlock and /update.
const (
	HeaderLockToken = "X-Lock-Token"
	HeaderVersion   = "X-Custodes-Version"
)

func (s *Server) dfsRoutes(e *echo.Echo) {
	e.POST("/write", s.dfsWrite)
	e.GET("/read", s.dfsRead)
	e.GET("/stat", s.dfsStat)
	e.POST("/lock", s.dfsLock)
	e.POST("/unlock", s.dfsUnlock)
	e.POST("/update", s.dfsUpdate)
	e.POST("/share", s.dfsShare)
	e.GET("/all", s.dfsAll)
	e.DELETE("/file", s.dfsDelete)
	e.GET("/access", s.dfsAccess)
	e.GET("/admin/dfs", s.adminDFS)
	e.POST("/admin/dfs/drain", s.adminDrain)
	e.POST("/dfs/register", s.dfsRegister)
}

// errNoDFS answers the file system's routes on an agent without one.
var errNoDFS = fmt.Errorf("%w: this agent serves no file system", ErrNotFound)

// dfsBody decodes a file-system route's JSON body into v.
func (s *Server) dfsBody(c echo.Context, v any) error {
	if s.dir == nil {
		return errNoDFS
	}
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// lockHash is what the index compares of a lock token: its hash, or ""
// when none was sent (which holds no lock).
func lockHash(token string) string {
	if token == "" {
		return ""
	}
	return HashToken(token)
}

// dfsUser is the request's user: the file system has no anonymous
// clients, whatever --acl-default says.
func (s *Server) dfsUser(c echo.Context) (string, error) {
	if s.dir == nil {
		return "", errNoDFS
	}
	u, ok := requestUser(c)
	if !ok {
		return "", fmt.Errorf("%w: the file system needs a user's token (Authorization: Bearer TOKEN; users come from /acl/users once ACLs are bootstrapped)", ErrUnauthorized)
	}
	return u.Name, nil
}

// fileView is a file as the write, update and stat answers show it.
type fileView struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Owner    string   `json:"owner"`
	Version  uint64   `json:"version"`
	Size     int64    `json:"size"`
	SHA256   string   `json:"sha256"`
	Replicas []string `json:"replicas"`
	Index    uint64   `json:"index,omitempty"`
}

func fileViewOf(f files.File, index uint64) fileView {
	return fileView{ID: f.ID, Name: f.Name, Owner: f.Owner, Version: f.Version, Size: f.Size, SHA256: f.SHA256, Replicas: f.Replicas, Index: index}
}

// progressBody extends the connection's read deadline as the body
// arrives: a large upload may take longer than --http-read-timeout, but
// a client that stops sending is still cut off after it. The answer's
// write deadline (set when the handler starts) is moved once the upload
// is over, or a long upload's answer would be cut off, its file stored.
type progressBody struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
}

func (p *progressBody) Read(b []byte) (int, error) {
	if p.timeout > 0 {
		_ = p.rc.SetReadDeadline(time.Now().Add(p.timeout))
	}
	n, err := p.r.Read(b)
	if err == io.EOF && p.timeout > 0 {
		// The whole body is in. net/http now watches the connection for
		// the client going away, and a read deadline passing while the
		// handler still works (a long commit or restore) would cancel the
		// request: none from here on; the answer keeps its write deadline.
		_ = p.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (s *Server) uploadBody(c echo.Context) io.Reader {
	return &progressBody{r: c.Request().Body, rc: http.NewResponseController(c.Response().Writer), timeout: s.cfg.Limits.WriteTimeout}
}

// dfsWrite handles POST /write?name=NAME.
func (s *Server) dfsWrite(c echo.Context) error {
	return s.upload(c, http.StatusCreated, func(ctx context.Context, user string, body io.Reader) (directory.Written, error) {
		return s.dir.Write(ctx, user, c.QueryParam("name"), body, c.Request().ContentLength)
	})
}

// dfsUpdate handles POST /update?name=NAME[&owner=USER] with X-Lock-Token.
func (s *Server) dfsUpdate(c echo.Context) error {
	return s.upload(c, http.StatusOK, func(ctx context.Context, user string, body io.Reader) (directory.Written, error) {
		return s.dir.Update(ctx, user, c.QueryParam("owner"), c.QueryParam("name"),
			lockHash(c.Request().Header.Get(HeaderLockToken)), body, c.Request().ContentLength)
	})
}

// upload runs a write or an update with the request's body and answers
// the file as committed.
func (s *Server) upload(c echo.Context, status int, do func(context.Context, string, io.Reader) (directory.Written, error)) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	w, err := do(c.Request().Context(), user, s.uploadBody(c))
	s.extendWrite(c, 0) // the answer's deadline counts from the upload's end
	ledBy(c, w.By)
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(w.Index, 10))
	return c.JSON(status, fileViewOf(w.File, w.Index))
}

// dfsRead handles GET /read?name=NAME[&owner=USER], with Range.
func (s *Server) dfsRead(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f, err := s.dir.Open(ctx, user, c.QueryParam("owner"), c.QueryParam("name"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set(HeaderVersion, strconv.FormatUint(f.Version, 10))
	start, length, status := int64(0), f.Size, http.StatusOK
	if rg := c.Request().Header.Get("Range"); rg != "" {
		var ok bool
		start, length, ok = parseRange(rg, f.Size)
		switch {
		case !ok:
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", f.Size))
			return echo.NewHTTPError(http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("range %q is not within the file's %d bytes", rg, f.Size))
		case length >= 0:
			status = http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, f.Size))
		default:
			start, length = 0, f.Size // several ranges: the whole file
		}
	}
	h.Set(echo.HeaderContentType, echo.MIMEOctetStream)
	h.Set(echo.HeaderContentLength, strconv.FormatInt(length, 10))
	lw := &lazyWriter{c: c, s: s, status: status}
	if length == 0 {
		return c.NoContent(status)
	}
	if _, err := s.dir.Read(ctx, f, start, length, lw); err != nil {
		if !lw.started {
			h.Del(echo.HeaderContentLength)
			h.Del("Content-Range")
			return err
		}
		// The status and length are out: cut the connection, so the
		// client sees a broken transfer, never a short or wrong body.
		s.log.Warn("read cut off", "file", f.ID, "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// lazyWriter writes the status on the first byte, so a read that no
// replica can start still answers an error; each write extends the
// answer's deadline.
type lazyWriter struct {
	c       echo.Context
	s       *Server
	status  int
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.c.Response().WriteHeader(l.status)
	}
	l.s.extendWrite(l.c, 0)
	return l.c.Response().Write(p)
}

// parseRange reads a single "bytes=" range of a file of size bytes. It
// returns length -1 (serve it all) for several ranges, and ok false when
// the range cannot be satisfied or is malformed.
func parseRange(h string, size int64) (start, length int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return 0, 0, false
	}
	if strings.Contains(spec, ",") {
		return 0, -1, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" { // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		n = min(n, size)
		return size - n, n, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return 0, 0, false
	}
	last := size - 1
	if b != "" {
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < first {
			return 0, 0, false
		}
		last = min(l, size-1)
	}
	return first, last - first + 1, true
}

// statView is /stat's answer: the write's answer plus each replica's state.
type statView struct {
	fileView
	Access string                   `json:"access"`
	States []directory.ReplicaState `json:"replica_states"`
}

// dfsStat handles GET /stat?name=NAME[&owner=USER].
func (s *Server) dfsStat(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	st, err := s.dir.Stat(c.Request().Context(), user, c.QueryParam("owner"), c.QueryParam("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, statView{fileView: fileViewOf(st.File, 0), Access: st.Access, States: st.Replicas})
}

// dfsLock handles POST /lock?name=NAME[&owner=USER][&ttl=30s].
func (s *Server) dfsLock(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	ttl := 30 * time.Second
	if v := c.QueryParam("ttl"); v != "" {
		if ttl, err = time.ParseDuration(v); err != nil {
			return invalidf("ttl %q: a duration such as 30s", v)
		}
	}
	// The token is drawn here, as an ACL user's is; only its hash is
	// proposed, and the plaintext is in this answer alone.
	token, err := NewToken()
	if err != nil {
		return err
	}
	g, err := s.dir.Lock(c.Request().Context(), user, c.QueryParam("owner"), c.QueryParam("name"), HashToken(token), ttl)
	var le *directory.LockedError
	if errors.As(err, &le) {
		return c.JSON(http.StatusConflict, map[string]any{"error": le.Error(), "holder": le.Holder, "expires": le.Expires})
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(g.Index, 10))
	return c.JSON(http.StatusOK, lockView{Token: token, Grant: g})
}

// lockView is /lock's answer: the token, shown once, and the grant.
type lockView struct {
	Token string `json:"token"`
	directory.Grant
}

// dfsUnlock handles POST /unlock?name=NAME[&owner=USER] with X-Lock-Token.
func (s *Server) dfsUnlock(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	index, err := s.dir.Unlock(c.Request().Context(), user, c.QueryParam("owner"), c.QueryParam("name"), lockHash(c.Request().Header.Get(HeaderLockToken)))
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(index, 10))
	return c.JSON(http.StatusOK, map[string]any{"unlocked": true, "index": index})
}

type shareBody struct {
	Name string `json:"name"`
	With string `json:"with"`
	Mode string `json:"mode"`
}

// dfsShare handles POST /share {"name","with","mode"}.
func (s *Server) dfsShare(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	var b shareBody
	if err := s.dfsBody(c, &b); err != nil {
		return err
	}
	index, err := s.dir.Share(c.Request().Context(), user, b.Name, b.With, b.Mode)
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(index, 10))
	return c.JSON(http.StatusOK, map[string]any{"name": b.Name, "with": b.With, "mode": b.Mode, "index": index})
}

type listEntry struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Owner   string `json:"owner"`
	Version uint64 `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Access  string `json:"access"`
}

// dfsAll handles GET /all.
func (s *Server) dfsAll(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	list, err := s.dir.List(c.Request().Context(), user)
	if err != nil {
		return err
	}
	out := make([]listEntry, 0, len(list))
	for _, fa := range list {
		f := fa.File
		out = append(out, listEntry{ID: f.ID, Name: f.Name, Owner: f.Owner, Version: f.Version, Size: f.Size, SHA256: f.SHA256, Access: fa.Access})
	}
	return c.JSON(http.StatusOK, map[string]any{"files": out})
}

// dfsDelete handles DELETE /file?name=NAME (the owner's own files only).
func (s *Server) dfsDelete(c echo.Context) error {
	user, err := s.dfsUser(c)
	if err != nil {
		return err
	}
	index, err := s.dir.Delete(c.Request().Context(), user, c.QueryParam("name"))
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(index, 10))
	return c.JSON(http.StatusOK, map[string]any{"deleted": c.QueryParam("name"), "index": index})
}

// dfsAccess handles GET /access?file=ID&token=T: the lock service's check.
func (s *Server) dfsAccess(c echo.Context) error {
	if _, err := s.dfsUser(c); err != nil {
		return err
	}
	a, err := s.dir.Access(c.Request().Context(), c.QueryParam("file"), lockHash(c.QueryParam("token")))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// dfsOverview is /admin/dfs: the index's view, and the leader's sweep.
type dfsOverview struct {
	directory.Overview
	InFlight  int                    `json:"in_flight"`
	LastSweep *replication.LastSweep `json:"last_sweep"`
	// Sweeps, Copied and Failed count the leader's sweeps and their
	// copies since it became leader.
	Sweeps uint64 `json:"sweeps"`
	Copied uint64 `json:"copied"`
	Failed uint64 `json:"failed"`
	// SweepError says why the leader's sweep could not be asked.
	SweepError string `json:"sweep_error,omitempty"`
}

// adminDFS handles GET /admin/dfs.
func (s *Server) adminDFS(c echo.Context) error {
	if s.dir == nil {
		return errNoDFS
	}
	// Linearizable like every read unless ?stale: a drain or a server's
	// death just answered shows at once, whichever agent is asked.
	if err := s.consistentRead(c); err != nil {
		return err
	}
	o := dfsOverview{Overview: s.dir.Overview()}
	if s.sweep != nil {
		st, err := s.sweep.Status(c.Request().Context())
		if err != nil {
			o.SweepError = err.Error()
		}
		o.InFlight, o.LastSweep = st.InFlight, st.LastSweep
		o.Sweeps, o.Copied, o.Failed = st.Sweeps, st.Copied, st.Failed
	}
	return c.JSON(http.StatusOK, o)
}

type drainBody struct {
	Server string `json:"server"`
}

// adminDrain handles POST /admin/dfs/drain {"server"}: an admin route
// (the cluster key's signature or a management token).
func (s *Server) adminDrain(c echo.Context) error {
	var b drainBody
	if err := s.dfsBody(c, &b); err != nil {
		return err
	}
	if b.Server == "" {
		return invalidf("server: the id of the file server to drain")
	}
	srv, err := s.dir.Drain(c.Request().Context(), b.Server)
	if err != nil {
		return err
	}
	if s.sweep != nil {
		s.sweep.Kick()
	}
	return c.JSON(http.StatusOK, srv)
}

type registerServerBody struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// dfsRegister handles POST /dfs/register from a file server (signed with
// the cluster key).
func (s *Server) dfsRegister(c echo.Context) error {
	var b registerServerBody
	if err := s.dfsBody(c, &b); err != nil {
		return err
	}
	srv, index, err := s.dir.Register(c.Request().Context(), b.ID, b.Address)
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(index, 10))
	return c.JSON(http.StatusOK, srv)
}
