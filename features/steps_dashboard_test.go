package features

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/ui/uitest"
)

// The dashboard's steps (dashboard.feature): the page over plain HTTP,
// and the page in a headless Chromium driven by ui/uitest. Where no
// Chromium is installed the browser step logs why and returns
// godog.ErrSkip, which godog counts as skipped, not failed, even under
// Strict; the scenario's later steps are skipped with it.

// dashboardWorld is one scenario's browser, if it opened one.
type dashboardWorld struct {
	w       *world
	browser *uitest.Browser
	// outside counts the requests a prefix proxy got outside its prefix.
	outside atomic.Int64
}

// The page's waits: long enough for a loaded machine to start a cluster's
// views, short where the issue sets the bound.
const dashboardLoad = 20 * time.Second

func (d *dashboardWorld) cspAllowsOnlyOwn() error {
	if d.w.last == nil {
		return fmt.Errorf("no request was sent")
	}
	return uitest.CheckCSP(d.w.last.header.Get("Content-Security-Policy"))
}

func (d *dashboardWorld) isTheDashboard() error {
	body := string(d.w.last.body)
	for _, want := range []string{"<title>custodes</title>", `id="raft-servers"`, `id="ring"`, `id="services"`, `id="events"`, `id="auth"`} {
		if !strings.Contains(body, want) {
			return fmt.Errorf("the page has no %s: %.300s", want, body)
		}
	}
	return nil
}

func (d *dashboardWorld) filesServed() error {
	return uitest.CheckServed(d.w.client, d.w.c.URL(d.w.asked))
}

// openBrowser starts Chromium and opens the dashboard of agent who, or
// skips the scenario (saying why) where there is no Chromium.
func (d *dashboardWorld) openBrowser(ctx context.Context, who string) error {
	i, err := d.w.agent(who)
	if err != nil {
		return err
	}
	return d.open(ctx, d.w.c.URL(i)+"/ui/")
}

// openBehindProxy serves agent who under prefix through a reverse proxy,
// as one in front of an agent would, and opens the page there. The proxy
// answers 404 outside its prefix and counts such requests.
func (d *dashboardWorld) openBehindProxy(ctx context.Context, who, prefix string) error {
	i, err := d.w.agent(who)
	if err != nil {
		return err
	}
	target, err := url.Parse(d.w.c.URL(i))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, httputil.NewSingleHostReverseProxy(target)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.outside.Add(1)
		http.NotFound(w, r)
	})
	proxy := httptest.NewServer(mux)
	// The page's event stream stays open: cut it, or Close waits for it.
	d.w.cleanup = append(d.w.cleanup, func() { proxy.CloseClientConnections(); proxy.Close() })
	return d.open(ctx, proxy.URL+prefix+"/ui/")
}

func (d *dashboardWorld) open(ctx context.Context, page string) error {
	exe, err := uitest.Chromium()
	if err != nil {
		godog.Logf(ctx, "skipping the browser scenario: %v", err)
		return fmt.Errorf("%w: %v", godog.ErrSkip, err)
	}
	b, err := uitest.Start(exe)
	if err != nil {
		return err
	}
	d.browser = b
	d.w.cleanup = append(d.w.cleanup, b.Close)
	return b.Open(page)
}

// until waits for c on the page; a scenario without a browser has been
// skipped before it gets here.
func (d *dashboardWorld) until(c uitest.Cond, timeout time.Duration) error {
	if d.browser == nil {
		return fmt.Errorf("no browser shows the dashboard (say: a browser shows the dashboard of ...)")
	}
	return d.browser.Until(c, timeout)
}

func (d *dashboardWorld) agentsAndLeader(n int) error {
	if err := d.until(uitest.ShowsAgents(n), dashboardLoad); err != nil {
		return err
	}
	if d.browser == nil {
		return fmt.Errorf("no browser shows the dashboard")
	}
	return d.browser.UntilLeader(func() (string, error) {
		l, err := d.w.agent("the leader")
		if err != nil {
			return "", err
		}
		return d.w.nodeID(l), nil
	}, dashboardLoad)
}

func (d *dashboardWorld) typeToken(tok string) error {
	tok, err := d.w.expand(tok)
	if err != nil {
		return err
	}
	if d.browser == nil {
		return fmt.Errorf("no browser shows the dashboard")
	}
	if err := d.browser.EnterToken(tok); err != nil {
		return err
	}
	return d.until(uitest.TokenFormHidden(), 5*time.Second)
}

func (d *dashboardWorld) noConsoleErrors(but string) error {
	if d.browser == nil {
		return fmt.Errorf("no browser shows the dashboard")
	}
	var allow func(uitest.Message) bool
	if but != "" {
		allow = uitest.AllowRefusedToken
	}
	if p := d.browser.Problems(allow); len(p) > 0 {
		return fmt.Errorf("the browser console has errors:\n  %s", strings.Join(p, "\n  "))
	}
	return nil
}

func dashboardSteps(sc *godog.ScenarioContext, w *world) {
	d := &dashboardWorld{w: w}
	sc.Step(`^the Content-Security-Policy allows only the page's own scripts, styles and agent$`, d.cspAllowsOnlyOwn)
	sc.Step(`^the page is the dashboard$`, d.isTheDashboard)
	sc.Step(`^every file the page references is served with its type and the security headers$`, d.filesServed)
	sc.Step(`^a browser shows the dashboard of `+who+`$`, d.openBrowser)
	sc.Step(`^a browser shows the dashboard of `+who+` through a proxy that serves it under "(/[a-z-]+)"$`, d.openBehindProxy)
	sc.Step(`^the proxy got no request outside its prefix$`, func() error {
		if n := d.outside.Load(); n > 0 {
			return fmt.Errorf("the page made %d requests outside the prefix", n)
		}
		return nil
	})
	sc.Step(`^the dashboard shows (\d+) agents and names the leader$`, d.agentsAndLeader)
	sc.Step(`^the dashboard shows (\d+) file servers? on the ring$`, func(n int) error {
		return d.until(uitest.ShowsFileServers(n), dashboardLoad)
	})
	sc.Step(`^the dashboard's event stream is live$`, func() error { return d.until(uitest.StreamLive(), dashboardLoad) })
	sc.Step(`^the dashboard shows the service "([^"]*)" within (\d+) seconds?$`, func(name string, secs int) error {
		return d.until(uitest.ShowsService(name), time.Duration(secs)*time.Second)
	})
	sc.Step(`^the dashboard shows the file server "([^"]*)" (alive|draining|dead|left) within (\d+) seconds?$`, func(id, state string, secs int) error {
		return d.until(uitest.FileServerIs(id, state), time.Duration(secs)*time.Second)
	})
	sc.Step(`^the dashboard asks for a token$`, func() error { return d.until(uitest.AsksForToken(), dashboardLoad) })
	sc.Step(`^I type the token "([^"]*)" into the dashboard$`, d.typeToken)
	sc.Step(`^the browser console has no errors( but the refused requests)?$`, d.noConsoleErrors)
}
