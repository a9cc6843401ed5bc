package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/labstack/echo/v4"
)

// Snapshots is what the snapshot routes need of the cluster
// (*cluster.Node implements it).
type Snapshots interface {
	TakeSnapshot(ctx context.Context) (*cluster.Snapshot, error)
	RestoreSnapshot(ctx context.Context, r io.Reader) (cluster.Restored, error)
}

// snapshots returns the cluster's snapshot half, if it has one.
func (s *Server) snapshots() (Snapshots, error) {
	sn, ok := s.cluster.(Snapshots)
	if !ok {
		return nil, fmt.Errorf("%w: this agent takes no snapshots", ErrNotFound)
	}
	return sn, nil
}

// adminSnapshotSave handles GET /admin/snapshot: the whole replicated
// state at a linearizable read, as a gzip archive (cluster/snapshot.go).
func (s *Server) adminSnapshotSave(c echo.Context) error {
	sn, err := s.snapshots()
	if err != nil {
		return err
	}
	snap, err := sn.TakeSnapshot(c.Request().Context())
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ctOctets)
	h.Set(HeaderIndex, strconv.FormatUint(snap.Header.Index, 10))
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="custodes-%d.snap"`, snap.Header.Index))
	w := &lazyWriter{c: c, s: s, status: http.StatusOK}
	if err := snap.Write(w); err != nil {
		if !w.started {
			return err
		}
		// Part of the archive is out: cut the connection, so the client
		// sees a broken transfer (and gzip a truncated file), never a
		// short archive answered as whole.
		s.log.Warn("snapshot cut off", "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// adminSnapshotRestore handles PUT /admin/snapshot: the body, an archive
// saved by GET /admin/snapshot, replaces the whole state through the
// leader. A body that is not a whole, valid archive changes nothing (400).
func (s *Server) adminSnapshotRestore(c echo.Context) error {
	sn, err := s.snapshots()
	if err != nil {
		return err
	}
	// A large state takes longer to check and restore than the answer's
	// write deadline allows: none while it runs, then the usual one. The
	// body's reads still move the read deadline (a stalled upload is cut
	// off) and lift it at its end (uploadBody).
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Time{})
	out, err := sn.RestoreSnapshot(c.Request().Context(), s.uploadBody(c))
	s.extendWrite(c, 0)
	if err != nil {
		return err
	}
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(out.Index, 10))
	ledBy(c, out.Leader)
	return c.JSON(http.StatusOK, out)
}
