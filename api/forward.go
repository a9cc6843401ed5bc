package api

import (
	"context"
	"errors"
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
	resp, err := s.forwarder.do(ctx, leader.HTTP, &fwdRequest{
		Method: in.Method, URI: in.URL.RequestURI(), ContentType: in.Header.Get("Content-Type"), Body: body,
	})
	if errors.Is(err, errNotSent) {
		return false, cluster.ErrNoLeader
	}
	if err != nil {
		return true, err
	}
	if resp.NotLeader {
		return false, cluster.ErrNotLeader
	}
	h := c.Response().Header()
	for _, kv := range resp.headers() {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
	c.Response().WriteHeader(resp.Status)
	_, err = c.Response().Write(resp.Body)
	return true, err
}
