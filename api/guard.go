package api

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// crossOrigin decides whether a request was sent by a browser on behalf of
// another site's page. No origin is trusted and nothing bypasses it: the API
// serves no pages of its own, so no legitimate write comes from a browser
// page on another origin. It is safe for concurrent use.
var crossOrigin = http.NewCrossOriginProtection()

// internalPrefix marks the agent-to-agent routes: their bodies are binary
// and they will get authentication of their own, so guardInput leaves them
// alone.
const internalPrefix = "/internal/"

// guardInput refuses, before any body is read, what a web page could make
// a browser send:
//
//   - a state-changing request that a browser marks as cross-origin
//     (Sec-Fetch-Site, or an Origin whose host is not the Host) is refused
//     with 403. GET, HEAD and OPTIONS always pass, and so do requests with
//     neither header: curl and Go clients send none, and they are not the
//     confused deputy this guards against.
//   - a request whose body is not labelled Content-Type: application/json
//     (parameters such as charset allowed) is refused with 415. An HTML
//     form can only send text/plain, urlencoded or multipart bodies
//     without a CORS preflight, so requiring JSON keeps a page on another
//     site from registering or removing anything even in a browser that
//     sends no Sec-Fetch-Site. A request without a body (DELETE, a
//     heartbeat PUT, curl -XPOST with no -d) needs no label: nothing in it
//     is read as JSON. Safe methods are not checked: no handler reads their
//     body.
//
// It runs on every route but the internal ones, so a route added later is
// guarded without remembering to; the cost is that an unknown path sent a
// cross-origin or unlabelled body answers 403 or 415 rather than 404.
// Writes a follower forwards pass it twice, here and on the leader, with
// the same Content-Type (the forwarder carries it) and no browser headers.
func guardInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.HasPrefix(r.URL.Path, internalPrefix) || safeMethod(r.Method) {
			return next(c)
		}
		if err := crossOrigin.Check(r); err != nil {
			return fmt.Errorf("%w: %v", ErrCrossOrigin, err)
		}
		if hasBody(r) && !byteRoutes[r.URL.Path] {
			if err := checkJSONType(r.Header.Get(echo.HeaderContentType)); err != nil {
				// RFC 9110 (15.5.16): say which media type would be taken.
				c.Response().Header().Set("Accept", echo.MIMEApplicationJSON)
				return err
			}
		}
		return next(c)
	}
}

// byteRoutes take a file's bytes as their body, in any media type (curl's
// --data-binary says urlencoded, -T nothing). They need a user's token,
// which a page on another site cannot make a browser send, and the
// cross-origin check still runs.
var byteRoutes = map[string]bool{"/write": true, "/update": true, "/admin/snapshot": true}

// (/admin/snapshot takes an archive: a management token, or before ACLs
// the cluster key where there is one.)

// safeMethod reports the methods that change nothing (the same set
// http.CrossOriginProtection lets through).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// hasBody reports whether the client sent, or announced, a body: a positive
// Content-Length, or an unknown length (chunked), which is counted as a
// body even if it turns out empty, since it cannot be known before reading.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0
}

// checkJSONType accepts application/json with any parameters (RFC 8259
// defines none, and JSON is UTF-8 whatever a charset parameter says; a body
// that is not UTF-8 is refused later as invalid).
func checkJSONType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return fmt.Errorf("%w: the request has a body but no Content-Type; send it as Content-Type: application/json", ErrMediaType)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%w: Content-Type %q does not parse (%v); send the body as Content-Type: application/json", ErrMediaType, ct, err)
	}
	if mt != echo.MIMEApplicationJSON {
		return fmt.Errorf("%w: Content-Type %q is not accepted; send the body as Content-Type: application/json", ErrMediaType, mt)
	}
	return nil
}
