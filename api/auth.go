package api

import (
	"strings"

	"github.com/custodes/custodes/keyring"
	"github.com/labstack/echo/v4"
)

// internalPrefix is where agent-to-agent routes live; everything under it
// needs the cluster key when the agent has one, whoever mounts it.
const internalPrefix = "/internal/"

// keyAuth returns the two middlewares that enforce the cluster key:
// internal, installed router-wide, checks every request under /internal/
// (matched by the route or by the path, so a route mounted there later,
// or a path the router does not know, is covered too); admin guards one
// operator route. Both let everything through when the agent has no key,
// and both accept a request whose context already proved the key (a write
// the leader runs from a follower's verified /internal/forward batch).
func keyAuth(keys [][]byte) (internal, admin echo.MiddlewareFunc) {
	v := keyring.NewVerifier(keys, keyring.VerifierConfig{})
	if v == nil {
		pass := func(next echo.HandlerFunc) echo.HandlerFunc { return next }
		return pass, pass
	}
	admin = echo.WrapMiddleware(v.Middleware)
	internal = func(next echo.HandlerFunc) echo.HandlerFunc {
		checked := admin(next)
		return func(c echo.Context) error {
			if strings.HasPrefix(c.Path(), internalPrefix) || strings.HasPrefix(c.Request().URL.Path, internalPrefix) {
				return checked(c)
			}
			return next(c)
		}
	}
	return internal, admin
}
