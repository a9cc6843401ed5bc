package features

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent/agenttest"
)

// suite owns the cluster shared by every scenario not tagged @fresh.
type suite struct {
	once   sync.Once
	shared *agenttest.Cluster
	err    error
	// dfs is the file-system cluster of dfs.feature (steps_dfs_test.go).
	dfs dfsSuite
}

func (s *suite) cluster() (*agenttest.Cluster, error) {
	s.once.Do(func() { s.shared, s.err = agenttest.Start(3, agenttest.Options{}) })
	return s.shared, s.err
}

func (s *suite) init(ctx *godog.TestSuiteContext) {
	ctx.AfterSuite(func() {
		if s.shared != nil {
			s.shared.Shutdown()
		}
		s.dfs.release()
	})
}

// response is one HTTP answer a step received.
type response struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration // from sending the request to reading the whole answer
}

// world is one scenario's state.
type world struct {
	c      *agenttest.Cluster
	fresh  bool // c belongs to this scenario alone
	client *http.Client
	ctx    context.Context // cancelled when the scenario ends
	cancel context.CancelFunc
	last   *response
	asked  int // index of the agent the last request went to
	vars   map[string]string
	// pending holds requests started in the background, by name.
	pending map[string]chan *response
	cleanup []func()
	svcs    map[string]*testService
	hooks   map[string]*hook
	stream  *stream
	// crowd holds the answers of concurrent registrations, by address.
	crowd []crowdAnswer
	// nextHeader changes the headers of the next request only; an empty
	// value removes the header.
	nextHeader http.Header
	// slow holds the half-sent requests of a limits scenario.
	slow *loris
}

// freshStep is how a @fresh scenario asks for a cluster other than the
// default three agents; it then starts none of its own before.
const freshStep = "a fresh cluster of "

// freshDFSStep starts agents and file servers for one scenario.
const freshDFSStep = "a fresh file system of "

func (s *suite) initScenario(sc *godog.ScenarioContext) {
	w := &world{vars: map[string]string{}, pending: map[string]chan *response{}}
	sc.Before(func(ctx context.Context, p *godog.Scenario) (context.Context, error) {
		w.ctx, w.cancel = context.WithCancel(context.Background())
		w.client = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 8},
			// A redirect must reach the step as it is: clients never get one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		if !strings.HasPrefix(filepath.Base(p.Uri), "dfs") {
			// The file-system scenarios run together (feature files run in
			// name order): their cluster need not idle through the rest.
			s.dfs.release()
		}
		if !tagged(p, "@fresh") {
			c, err := s.cluster()
			if err != nil {
				return ctx, err
			}
			w.c = c
			return ctx, w.wipe()
		}
		for _, st := range p.Steps {
			if strings.HasPrefix(st.Text, freshStep) || strings.HasPrefix(st.Text, freshDFSStep) {
				return ctx, nil
			}
		}
		return ctx, w.freshCluster(3, nil)
	})
	sc.After(func(ctx context.Context, p *godog.Scenario, err error) (context.Context, error) {
		w.cancel()
		for i := len(w.cleanup) - 1; i >= 0; i-- {
			w.cleanup[i]()
		}
		w.client.CloseIdleConnections()
		if w.fresh && w.c != nil {
			w.c.Shutdown()
		}
		return ctx, nil
	})
	httpSteps(sc, w)
	registrySteps(sc, w)
	clusterSteps(sc, w)
	membershipSteps(sc, w)
	healthSteps(sc, w)
	inputSteps(sc, w)
	securitySteps(sc, w)
	tlsSteps(sc, w)
	aclSteps(sc, w)
	limitsSteps(sc, w)
	dfsSteps(sc, w, &s.dfs)
	snapshotSteps(sc, w)
	metricsSteps(sc, w)
	dashboardSteps(sc, w)
	cliSteps(sc, w)
}

func tagged(p *godog.Scenario, tag string) bool {
	for _, t := range p.Tags {
		if t.Name == tag {
			return true
		}
	}
	return false
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_.\-]+)\}`)

// expand replaces ${name} with remembered values.
func (w *world) expand(s string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(s, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		if v, ok := w.vars[name]; ok {
			return v
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("nothing remembered as %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// leaderWait bounds a step's wait for a leader every agent agrees on: an
// election takes a second, but a starved machine can take many.
const leaderWait = 30 * time.Second

// who matches an agent reference in a step.
const who = `(the leader|a follower|the other follower|agent (?:\d+|\$\{[a-z.]+\}))`

// agent resolves "the leader", "a follower", "the other follower" or
// "agent N" (1-based, N may be a ${variable}) to an index into the cluster.
func (w *world) agent(name string) (int, error) {
	if w.c == nil {
		return -1, fmt.Errorf("no cluster is running")
	}
	name, err := w.expand(strings.TrimSpace(name))
	if err != nil {
		return -1, err
	}
	switch name {
	case "the leader":
		return w.c.WaitForLeader(leaderWait)
	case "a follower", "the other follower":
		if _, err := w.c.WaitForLeader(leaderWait); err != nil {
			return -1, err
		}
		f := w.c.Followers()
		if len(f) == 0 {
			return -1, fmt.Errorf("no follower is running")
		}
		if name == "the other follower" && len(f) > 1 {
			return f[1], nil
		}
		return f[0], nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(name, "agent "))
	if err != nil || n < 1 || n > len(w.c.Agents) {
		return -1, fmt.Errorf("unknown agent %q (say the leader, a follower or agent N)", name)
	}
	if w.c.Agents[n-1] == nil {
		return -1, fmt.Errorf("agent %d is not running", n)
	}
	return n - 1, nil
}

// nodeID is the node id of agent i.
func (w *world) nodeID(i int) string { return w.c.Agents[i].Node().ID() }

// poll calls cond until it succeeds or the deadline passes, and returns its
// last error.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
