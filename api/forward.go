package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/labstack/echo/v4"
)

// forwardWrites runs a write on the leader. On the leader it calls the
// handler; on a follower it sends the same request to the leader and
// passes the leader's answer back. While leadership moves it retries, up
// to LeaderWait, but only when the write certainly was not applied: the
// local handler said "not leader" before proposing, the leader could not be
// dialled, or the agent it reached answered that it is not the leader.
func (s *Server) forwardWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		body, err := readBody(c.Response(), req)
		if err != nil {
			return err
		}
		forwarded := req.Header.Get(headerForwarded) != ""
		ctx, cancel := context.WithTimeout(req.Context(), s.cfg.LeaderWait)
		defer cancel()
		for {
			var err error
			if s.cluster.IsLeader() {
				c.Set(bodyKey, body) // read once: the handler takes it from here
				err = next(c)
				if err == nil || !errors.Is(err, cluster.ErrNotLeader) {
					return err
				}
			} else if forwarded {
				// One hop only: the agent that forwarded retries with its
				// own, fresher view of the leader.
				c.Response().Header().Set(headerNotLeader, "1")
				return cluster.ErrNotLeader
			} else {
				var done bool
				done, err = s.forwardOnce(ctx, c, body)
				if done {
					return err
				}
			}
			select {
			case <-ctx.Done():
				if err == nil || errors.Is(err, cluster.ErrNotLeader) {
					err = cluster.ErrNoLeader
				}
				return err
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// bodyKey holds the request body forwardWrites already read.
const bodyKey = "custodes.body"

// requestBody returns the body forwardWrites read, or reads it (bounded).
func requestBody(c echo.Context) ([]byte, error) {
	if b, ok := c.Get(bodyKey).([]byte); ok {
		return b, nil
	}
	return readBody(c.Response(), c.Request())
}

// forwardOnce sends the write to the leader it knows of. done is false
// when the write certainly did not happen and may be retried.
func (s *Server) forwardOnce(ctx context.Context, c echo.Context, body []byte) (done bool, err error) {
	leader, err := s.cluster.WaitForLeader(ctx)
	if err != nil {
		return true, err
	}
	if leader.ID == s.cluster.ID() {
		return false, cluster.ErrNotLeader // we just became leader: loop
	}
	in := c.Request()
	out, err := http.NewRequestWithContext(ctx, in.Method, "http://"+leader.HTTP+in.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return true, err
	}
	out.Header.Set("Content-Type", in.Header.Get("Content-Type"))
	out.Header.Set(headerForwarded, s.cluster.ID())
	resp, err := s.fwd.Do(out)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return false, cluster.ErrNoLeader
		}
		return true, fmt.Errorf("%w: leader %s: %v; the write may or may not have been applied", ErrForward, leader.ID, err)
	}
	defer resp.Body.Close()
	if resp.Header.Get(headerNotLeader) != "" {
		_, _ = io.Copy(io.Discard, resp.Body)
		return false, cluster.ErrNotLeader
	}
	h := c.Response().Header()
	for _, k := range []string{"Content-Type", "Retry-After", HeaderIndex, HeaderServedBy} {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	c.Response().WriteHeader(resp.StatusCode)
	_, err = io.Copy(c.Response(), resp.Body)
	return true, err
}
