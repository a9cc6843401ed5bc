package features

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/tlsutil"
)

// tlsWorld is a TLS scenario's own state, beside the world's.
type tlsWorld struct {
	w *world
	// refused is the error of the last request that got no answer.
	refused error
	// stranger is the agent started with another CA's certificate.
	stranger *agent.Agent
}

// tlsCluster starts n agents with TLS, each with its own certificate
// from a CA made for the scenario, and makes the scenario's client trust
// that CA, so every other step reaches the agents over HTTPS.
func (t *tlsWorld) tlsCluster(n int) error {
	c, err := agenttest.Start(n, agenttest.Options{TLS: true})
	if err != nil {
		return err
	}
	if t.w.fresh {
		t.w.c.Shutdown()
	}
	t.w.c, t.w.fresh = c, true
	t.w.client.Transport = c.HTTPClient().Transport
	return nil
}

// foreign makes a client certificate from another CA; tlsutil checks it
// against that CA, so it loads.
func (t *tlsWorld) foreign(name string) (tlsutil.Config, error) {
	dir, err := os.MkdirTemp("", "custodes-foreign-")
	if err != nil {
		return tlsutil.Config{}, err
	}
	t.w.cleanup = append(t.w.cleanup, func() { _ = os.RemoveAll(dir) })
	return agenttest.ForeignTLS(dir, name)
}

// clientFor returns an HTTP client that trusts the cluster's CA and
// presents an agent's certificate, or one from another CA. The foreign
// one is offered whatever CAs the server names, as a hostile peer's
// would be (Go's client otherwise sends none the server did not ask for).
func (t *tlsWorld) clientFor(how string) (*http.Client, error) {
	cfg, err := t.w.c.ClientTLS(true)
	if err != nil || cfg == nil {
		return nil, fmt.Errorf("this scenario's cluster has no TLS (%v)", err)
	}
	if how == "a certificate from another CA" {
		files, err := t.foreign("impostor")
		if err != nil {
			return nil, err
		}
		other, err := tlsutil.Load(files)
		if err != nil {
			return nil, err
		}
		cert := other.Client().Certificates[0]
		cfg.Certificates = nil
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

// sendWith sends one request to who with the client and URL given, and
// keeps the answer as the last response, or the error as refused.
func (t *tlsWorld) sendWith(client *http.Client, url func(i int) string, method, path, who string, body *godog.DocString) error {
	i, err := t.w.agent(who)
	if err != nil {
		return err
	}
	t.w.asked = i
	var r io.Reader
	if body != nil {
		b, err := t.w.expand(body.Content)
		if err != nil {
			return err
		}
		r = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.w.ctx, method, url(i)+path, r)
	if err != nil {
		return err
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.w.last, t.refused = nil, err
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	t.w.last, t.refused = &response{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(start)}, nil
	return nil
}

// plain sends over http:// to an agent that serves https.
func (t *tlsWorld) plain(method, path, who string, body *godog.DocString) error {
	url := func(i int) string { return "http://" + strings.TrimPrefix(t.w.c.URL(i), "https://") }
	return t.sendWith(&http.Client{Timeout: 10 * time.Second}, url, method, path, who, body)
}

func (t *tlsWorld) withCert(method, path, who, how string) error {
	client, err := t.clientFor(how)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	return t.sendWith(client, t.w.c.URL, method, path, who, nil)
}

func (t *tlsWorld) refusedInHandshake() error {
	switch {
	case t.refused == nil && t.w.last != nil:
		return fmt.Errorf("the agent answered %d: %s", t.w.last.status, t.w.last.body)
	case t.refused == nil:
		return errors.New("no request was sent")
	case !strings.Contains(t.refused.Error(), "tls") && !strings.Contains(t.refused.Error(), "certificate"):
		return fmt.Errorf("refused, but not by TLS: %v", t.refused)
	}
	return nil
}

func (t *tlsWorld) bodyMentions(s string) error {
	if t.w.last == nil {
		return fmt.Errorf("no answer: %v", t.refused)
	}
	if !strings.Contains(string(t.w.last.body), s) {
		return fmt.Errorf("body %q does not mention %q", t.w.last.body, s)
	}
	return nil
}

// strangerFromAnotherCA starts an agent holding a certificate from
// another CA. Gossip has no certificates (the cluster key guards it), so
// it may be seen and even added as a non-voter; Raft must refuse it.
func (t *tlsWorld) strangerFromAnotherCA() error {
	if err := t.w.mine(); err != nil {
		return err
	}
	files, err := t.foreign("stranger1")
	if err != nil {
		return err
	}
	a, err := t.w.c.AddStranger(func(c *agent.Config) { c.TLS = files })
	if err != nil {
		return err
	}
	t.stranger = a
	t.w.vars["stranger.id"] = a.Node().ID()
	return nil
}

// receivesNothing watches for the whole duration that the stranger
// applies none of the cluster's log and is no agent's voter.
func (t *tlsWorld) receivesNothing(secs int) error {
	if t.stranger == nil {
		return errors.New("no stranger was started")
	}
	id := t.stranger.Node().ID()
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for time.Now().Before(deadline) {
		if n := t.stranger.Node().FSM().AppliedIndex(); n > 0 {
			return fmt.Errorf("the stranger applied the cluster's log up to %d", n)
		}
		for i, a := range t.w.c.Agents {
			if a == nil {
				continue
			}
			for _, s := range a.Node().Status().Servers {
				if s.ID == id && s.Suffrage == "Voter" {
					return fmt.Errorf("%s is a voter in agent %d's configuration", id, i+1)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func tlsSteps(sc *godog.ScenarioContext, w *world) {
	t := &tlsWorld{w: w}
	const method = `"(GET|POST|PUT|DELETE|PATCH)"`
	// Worded as freshStep says, so the scenario starts no other cluster.
	sc.Step(`^`+freshStep+`(\d+) agents over TLS$`, t.tlsCluster)
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` over plain HTTP$`, func(m, p, who string) error {
		return t.plain(m, p, who, nil)
	})
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` over plain HTTP with body:$`, t.plain)
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` with (an agent's certificate|a certificate from another CA)$`, t.withCert)
	sc.Step(`^the request is refused in the TLS handshake$`, t.refusedInHandshake)
	sc.Step(`^the response body mentions "(.*)"$`, t.bodyMentions)
	sc.Step(`^I start an agent with a certificate from another CA$`, t.strangerFromAnotherCA)
	sc.Step(`^the stranger receives nothing over Raft for (\d+) seconds?$`, t.receivesNothing)
}
