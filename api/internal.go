package api

import (
	"net/http"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/fsm"
	"github.com/labstack/echo/v4"
)

// internalApply handles cluster.ApplyPath: a command another agent
// originated (a health transition), already encoded. It is validated
// before it reaches the log, since Apply panics on what it cannot decode.
func (s *Server) internalApply(c echo.Context) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	if err := fsm.ValidateEncoded(body); err != nil {
		return invalidf("command: %v", err)
	}
	res, index, err := s.cluster.ApplyEncoded(body)
	if name := fsm.ErrorName(err); name != "" {
		return c.JSON(http.StatusOK, cluster.ApplyResponse{Index: index, Error: name})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cluster.ApplyResponse{Index: index, Result: res})
}
