package uitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// Candidates are the names Chromium goes by on PATH, in the order tried.
func Candidates() []string {
	return []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
}

// ErrNoChromium says no browser was found; tests skip on it.
var ErrNoChromium = errors.New("no Chromium or Chrome found")

// Chromium returns the browser to drive: $CUSTODES_CHROMIUM if set, else
// the first of Candidates on PATH.
func Chromium() (string, error) {
	if p := os.Getenv("CUSTODES_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%w: CUSTODES_CHROMIUM=%s: %v", ErrNoChromium, p, err)
		}
		return p, nil
	}
	for _, name := range Candidates() {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w on PATH (tried %s; `make test-deps` installs Debian's chromium as root)", ErrNoChromium, strings.Join(Candidates(), ", "))
}

// StartTimeout bounds the browser's start.
const StartTimeout = 60 * time.Second

// Browser is one headless Chromium with one tab.
type Browser struct {
	ctx    context.Context // the tab's chromedp context
	cancel context.CancelFunc
	// done is closed when the console reader has stopped.
	done chan struct{}

	mu      sync.Mutex
	console []Message
}

// Start starts the browser at exe, headless and without the sandbox (the
// tests run as root, where Chromium's sandbox refuses to start).
func Start(exe string) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, tcancel := chromedp.NewContext(actx)
	b := &Browser{ctx: ctx, done: make(chan struct{})}
	b.cancel = func() { tcancel(); acancel() }

	// The first action starts the browser and lives as long as it: it gets
	// no timeout of its own, so the start is bounded from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			b.cancel()
			return nil, fmt.Errorf("start %s: %w", exe, err)
		}
	case <-time.After(StartTimeout):
		b.cancel()
		return nil, fmt.Errorf("start %s: not up within %s", exe, StartTimeout)
	}
	// Subscribe before any page is opened, so no message is missed.
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(b.done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b, nil
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
	}
}

// run runs one action with a deadline.
func run[T any](b *Browser, timeout time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// Open loads url and waits for the page's load event.
func (b *Browser) Open(url string) error {
	_, err := run(b, 30*time.Second, chromedp.Navigate(url))
	if err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

// Eval evaluates a JavaScript expression and returns its value as JSON.
func (b *Browser) Eval(expr string) (string, error) {
	raw, err := run(b, 10*time.Second, chromedp.Evaluate[[]byte](expr))
	return string(raw), err
}

// Await evaluates an expression whose value is a promise (an async
// function's call, say), waits for it for at most timeout and returns
// what it resolved to, as JSON.
func (b *Browser) Await(expr string, timeout time.Duration) (string, error) {
	raw, err := run(b, timeout, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	return string(raw), err
}

// Wait polls the predicate (a JavaScript expression) in the page until it
// is truthy, for at most timeout. On a timeout the error names what was
// awaited and what the page showed then (show, an expression; may be "").
func (b *Browser) Wait(what string, timeout time.Duration, predicate, show string) error {
	_, err := run(b, timeout+5*time.Second, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("the page did not show %s within %s (%v)", what, timeout, err)
	if show != "" {
		if seen, err := b.Eval(show); err == nil {
			msg += "; it shows " + seen
		}
	}
	if p := b.Problems(nil); len(p) > 0 {
		msg += "; console: " + strings.Join(p, " | ")
	}
	return errors.New(msg)
}

// Type types text into the element with that id.
func (b *Browser) Type(id, text string) error {
	_, err := run(b, 10*time.Second, chromedp.SendKeys(chromedp.ID(id), text))
	return err
}

// Click clicks the element with that id.
func (b *Browser) Click(id string) error {
	_, err := run(b, 10*time.Second, chromedp.Click(chromedp.ID(id)))
	return err
}

// Screenshot saves the whole page as a PNG (for a person to look at).
func (b *Browser) Screenshot(path string) error {
	png, err := run(b, 20*time.Second, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// Message is one message of the page's console.
type Message = chromedp.ConsoleMessage

// Problems returns the console messages that are errors (console.error,
// uncaught exceptions and rejections, failed loads, policy violations),
// less those allow accepts (nil accepts none) and the browser's reports of
// API calls the cluster answered 5xx: no leader for a moment, which the
// page shows in the panel concerned and retries, is the cluster's state,
// not a fault of the page.
func (b *Browser) Problems(allow func(Message) bool) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if allow != nil && allow(m) {
			continue
		}
		if m.Source == "network" && serverError.MatchString(m.Text) && !strings.Contains(m.URL, "/ui/") {
			continue
		}
		where := m.Source
		if m.URL != "" {
			where += " " + m.URL
		}
		out = append(out, fmt.Sprintf("%s [%s]", m, strings.TrimSpace(where)))
	}
	return out
}

// serverError matches the browser's report of a 5xx answer.
var serverError = regexp.MustCompile(`responded with a status of 5\d\d`)

// AllowRefusedToken accepts the browser's own report of a request
// answered 401 or 403: the page asks for a token on those, by design.
func AllowRefusedToken(m Message) bool {
	return m.Source == "network" && (strings.Contains(m.Text, "status of 401") || strings.Contains(m.Text, "status of 403"))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
