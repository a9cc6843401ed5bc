package uitest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// What a page and its scripts name: src and href attributes, and module
// imports.
var (
	attrRef   = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	importRef = regexp.MustCompile(`(?m)^import [^;]*? from '\./([^']+)';`)
)

// CheckCSP reports what is wrong with a Content-Security-Policy for the
// dashboard: it must allow scripts, styles and connections from the
// page's own origin only, nothing inline or evaluated, and no framing.
func CheckCSP(csp string) error {
	var miss []string
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			miss = append(miss, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		miss = append(miss, "nothing unsafe or wildcard")
	}
	if len(miss) > 0 {
		return fmt.Errorf("Content-Security-Policy %q lacks %s", csp, strings.Join(miss, ", "))
	}
	return nil
}

// CheckServed fetches base+"/ui/" and every file the page names (and
// every module its scripts import), and reports each one that is not
// served with 200, its type and the security headers.
func CheckServed(client *http.Client, base string) error {
	var problems []string
	get := func(path string) (string, bool) {
		resp, err := client.Get(base + path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("GET %s: %v", path, err))
			return "", false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			problems = append(problems, fmt.Sprintf("GET %s: %d %v", path, resp.StatusCode, err))
			return "", false
		}
		if err := CheckCSP(resp.Header.Get("Content-Security-Policy")); err != nil {
			problems = append(problems, fmt.Sprintf("GET %s: %v", path, err))
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			problems = append(problems, fmt.Sprintf("GET %s: X-Content-Type-Options %q", path, got))
		}
		ct := resp.Header.Get("Content-Type")
		for ext, want := range map[string]string{"/": "text/html", ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"} {
			if strings.HasSuffix(path, ext) && !strings.HasPrefix(ct, want) {
				problems = append(problems, fmt.Sprintf("GET %s: Content-Type %q, want %s", path, ct, want))
			}
		}
		return string(b), true
	}
	page, ok := get("/ui/")
	if !ok {
		return errors.New(strings.Join(problems, "; "))
	}
	var queue []string
	for _, m := range attrRef.FindAllStringSubmatch(page, -1) {
		queue = append(queue, m[1])
	}
	if len(queue) == 0 {
		problems = append(problems, "the page names no file")
	}
	seen := map[string]bool{}
	for len(queue) > 0 && len(seen) < 100 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") {
			problems = append(problems, fmt.Sprintf("the page names %q: everything must come from /ui/", ref))
			continue
		}
		body, ok := get("/ui/" + ref)
		if ok && strings.HasSuffix(ref, ".js") {
			for _, m := range importRef.FindAllStringSubmatch(body, -1) {
				queue = append(queue, m[1])
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
