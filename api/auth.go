package api

import (
	"github.com/custodes/custodes/keyring"
	"github.com/labstack/echo/v4"
)

// keyAuth returns the middleware that guards an operator route with the
// cluster key: a request must carry proof of it (as `custodes leave`
// sends). It lets everything through when the agent has no key. The
// internal protocol under /internal/ is checked by cluster itself.
func keyAuth(keys [][]byte) echo.MiddlewareFunc {
	v := keyring.NewVerifier(keys, keyring.VerifierConfig{MaxBody: MaxBodyBytes})
	if v == nil {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return echo.WrapMiddleware(v.Middleware)
}
