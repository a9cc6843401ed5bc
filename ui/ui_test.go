package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkSecurityHeaders(t *testing.T, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("%s: Content-Security-Policy %q allows something unsafe", path, csp)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", path, got)
	}
}

// refs are the files a page or script names: src/href attributes and
// module imports.
var (
	attrRef   = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	importRef = regexp.MustCompile(`(?m)^import [^;]*? from '\./([^']+)';`)
)

// The page and every file it names (and each script imports) are served
// with their type and the security headers.
func TestServesThePageAndWhatItReferences(t *testing.T) {
	h := New()
	rec := get(t, h, http.MethodGet, "/ui/", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui/: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	checkSecurityHeaders(t, "/ui/", rec)
	page := rec.Body.String()
	if !strings.Contains(page, "<title>custodes</title>") {
		t.Fatalf("GET /ui/ is not the dashboard: %.200s", page)
	}
	seen := map[string]bool{}
	queue := []string{}
	for _, m := range attrRef.FindAllStringSubmatch(page, -1) {
		queue = append(queue, m[1])
	}
	if len(queue) < 3 {
		t.Fatalf("the page names %v; want its script, style sheet and icon", queue)
	}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if strings.Contains(ref, "//") || strings.HasPrefix(ref, "/") {
			t.Errorf("the page refers to %q: everything must come from /ui/, relative", ref)
			continue
		}
		rec := get(t, h, http.MethodGet, "/ui/"+ref, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("GET /ui/%s: %d", ref, rec.Code)
			continue
		}
		checkSecurityHeaders(t, "/ui/"+ref, rec)
		want := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
		for ext, ct := range want {
			if strings.HasSuffix(ref, ext) && !strings.HasPrefix(rec.Header().Get("Content-Type"), ct) {
				t.Errorf("GET /ui/%s: Content-Type %q, want %s", ref, rec.Header().Get("Content-Type"), ct)
			}
		}
		if strings.HasSuffix(ref, ".js") {
			for _, m := range importRef.FindAllStringSubmatch(rec.Body.String(), -1) {
				queue = append(queue, m[1])
			}
		}
	}
	// Every script is reached from the page: none is dead weight.
	for _, n := range h.Names() {
		if strings.HasSuffix(n, ".js") && !seen[n] {
			t.Errorf("%s is embedded but neither the page nor a script loads it", n)
		}
	}
}

func TestRedirectAndErrors(t *testing.T) {
	h := New()
	rec := get(t, h, http.MethodGet, "/ui", nil)
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, p := range []string{"/ui/nope.js", "/ui/static/app.js", "/ui/../go.mod", "/ui/%2e%2e/ui.go", "/elsewhere"} {
		rec := get(t, h, http.MethodGet, p, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
		checkSecurityHeaders(t, p, rec)
	}
	rec = get(t, h, http.MethodPost, "/ui/", nil)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /ui/: %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestRevalidatesWithETag(t *testing.T) {
	h := New()
	rec := get(t, h, http.MethodGet, "/ui/app.js", nil)
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	rec = get(t, h, http.MethodGet, "/ui/app.js", map[string]string{"If-None-Match": etag})
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	rec = get(t, h, http.MethodHead, "/ui/", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /ui/: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

// The page's sources keep to the rules the policy and the escaping
// depend on: no inline script, style or handler in the markup, and no
// script that turns strings into markup or code.
func TestSourcesKeepTheRules(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	handlerAttr := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	forbiddenJS := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "console."}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		src := string(b)
		switch {
		case strings.HasSuffix(p, ".html"):
			if inlineScript.MatchString(src) {
				t.Errorf("%s has an inline script", p)
			}
			if handlerAttr.MatchString(src) {
				t.Errorf("%s has an inline event handler", p)
			}
			if strings.Contains(src, "style=") || strings.Contains(src, "<style") {
				t.Errorf("%s has an inline style", p)
			}
		case strings.HasSuffix(p, ".js"):
			for _, f := range forbiddenJS {
				if strings.Contains(src, f) {
					t.Errorf("%s uses %s", p, f)
				}
			}
		}
		if n := strings.Count(src, "\n"); n > 500 {
			t.Errorf("%s has %d lines; split it", p, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(New().Names(), "index.html") {
		t.Error("no index.html embedded")
	}
}
