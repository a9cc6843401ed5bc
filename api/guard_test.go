package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// guardedRouter serves a few routes shaped like the real ones behind
// guardInput and the server's error handler; every handler reads the body,
// so a refusal that comes after reading would show as reads > 0.
func guardedRouter(reads *int) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = (&Server{log: slog.New(slog.DiscardHandler)}).errorHandler
	e.Use(guardInput)
	h := func(status int) echo.HandlerFunc {
		return func(c echo.Context) error {
			b, _ := io.ReadAll(c.Request().Body)
			if len(b) > 0 {
				*reads++
			}
			return c.NoContent(status)
		}
	}
	e.POST("/register", h(http.StatusCreated))
	e.PUT("/instance/:id", h(http.StatusOK))
	e.PUT("/instance/:id/heartbeat", h(http.StatusOK))
	e.DELETE("/instance/:id", h(http.StatusOK))
	e.GET("/service/:name", h(http.StatusOK))
	e.POST("/admin/leave", h(http.StatusOK))
	e.POST("/internal/v1/apply", h(http.StatusOK))
	return e
}

// unsized hides a body's length, so the request goes out as chunked.
type unsized struct{ io.Reader }

func TestGuardInput(t *testing.T) {
	const reg = `{"name":"web","address":"10.0.0.1:80"}`
	cases := []struct {
		name, method, path string
		body               io.Reader
		header             map[string]string
		want               int
		mentions           string // in the {"error"} of a refusal
	}{
		{"json", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json"}, 201, ""},
		{"json with charset", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json; charset=utf-8"}, 201, ""},
		{"media type is case-insensitive", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "Application/JSON"}, 201, ""},
		{"text/plain", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "text/plain"}, 415, `"text/plain" is not accepted`},
		{"form", "POST", "/register", strings.NewReader("name=web"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/x-www-form-urlencoded"},
		{"multipart", "PUT", "/instance/x", strings.NewReader(reg), map[string]string{"Content-Type": "multipart/form-data; boundary=z"}, 415, "multipart/form-data"},
		{"json suffix is not json", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/merge-patch+json"}, 415, "merge-patch"},
		{"no content type", "POST", "/register", strings.NewReader(reg), nil, 415, "no Content-Type"},
		{"unparsable content type", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json; charset"}, 415, "does not parse"},
		{"chunked text/plain", "POST", "/register", unsized{strings.NewReader(reg)}, map[string]string{"Content-Type": "text/plain"}, 415, "text/plain"},
		{"chunked json", "POST", "/register", unsized{strings.NewReader(reg)}, map[string]string{"Content-Type": "application/json"}, 201, ""},
		{"empty body needs no type", "POST", "/register", strings.NewReader(""), map[string]string{"Content-Type": "text/plain"}, 201, ""},
		{"bodiless delete", "DELETE", "/instance/x", nil, nil, 200, ""},
		{"bodiless heartbeat", "PUT", "/instance/x/heartbeat", nil, nil, 200, ""},
		{"bodiless leave", "POST", "/admin/leave", nil, map[string]string{"Content-Type": "application/json"}, 200, ""},
		{"get body is never read", "GET", "/service/web", strings.NewReader("x"), map[string]string{"Content-Type": "text/plain"}, 200, ""},
		{"internal routes are left alone", "POST", "/internal/v1/apply", strings.NewReader("\x01\x02"), map[string]string{"Content-Type": "application/octet-stream"}, 200, ""},

		{"cross-site post", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"same-site is another origin", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403, "cross-origin"},
		{"cross-site bodiless delete", "DELETE", "/instance/x", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"cross-site heartbeat", "PUT", "/instance/x/heartbeat", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"cross-site leave", "POST", "/admin/leave", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"old browser, foreign origin", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403, "Origin does not match Host"},
		{"cross-site form: 403 comes first", "POST", "/register", strings.NewReader("name=web"), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"same-origin", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}, 201, ""},
		{"typed into the address bar", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "none"}, 201, ""},
		{"origin matches host", "POST", "/register", strings.NewReader(reg), map[string]string{"Content-Type": "application/json", "Origin": "http://example.com"}, 201, ""},
		{"cross-site read", "GET", "/service/web", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, ""},
		{"internal cross-site is not judged here", "POST", "/internal/v1/apply", strings.NewReader("x"), map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reads int
			e := guardedRouter(&reads)
			req := httptest.NewRequest(tc.method, tc.path, tc.body) // Host: example.com
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want < 400 {
				return
			}
			if reads != 0 {
				t.Errorf("the handler read the body of a refused request")
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error answer is not {\"error\"}: %q", rec.Body)
			}
			if !strings.Contains(body.Error, tc.mentions) {
				t.Errorf("error %q does not mention %q", body.Error, tc.mentions)
			}
			if tc.want == http.StatusUnsupportedMediaType && rec.Header().Get("Accept") != "application/json" {
				t.Errorf("a 415 names no accepted type: Accept %q", rec.Header().Get("Accept"))
			}
		})
	}
}
