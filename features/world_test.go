package features

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent/agenttest"
)

// shared is the suite's cluster, used by every scenario that does not
// start its own; scenarios that kill or restart agents get a fresh one.
var shared struct {
	once sync.Once
	c    *agenttest.Cluster
	err  error
}

func sharedCluster() (*agenttest.Cluster, error) {
	shared.once.Do(func() { shared.c, shared.err = agenttest.Start(3, agenttest.Options{}) })
	return shared.c, shared.err
}

func initSuite(ctx *godog.TestSuiteContext) {
	ctx.AfterSuite(func() {
		if shared.c != nil {
			shared.c.Shutdown()
		}
	})
}

// response is one HTTP answer a step received.
type response struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

// world is one scenario's state.
type world struct {
	c       *agenttest.Cluster
	fresh   bool
	last    *response
	vars    map[string]string
	pending map[string]chan *response // background requests by name
	cleanup []func()
	// asked is the agent index the last request went to.
	asked  int
	svcs   map[string]*testService
	hooks  map[string]*hook
	stream *stream
}

func initScenario(sc *godog.ScenarioContext) {
	w := &world{vars: map[string]string{}, pending: map[string]chan *response{}}
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		c, err := sharedCluster()
		if err != nil {
			return ctx, err
		}
		w.c = c
		return ctx, nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		for i := len(w.cleanup) - 1; i >= 0; i-- {
			w.cleanup[i]()
		}
		if w.fresh {
			w.c.Shutdown()
		}
		return ctx, nil
	})
	httpSteps(sc, w)
	registrySteps(sc, w)
	clusterSteps(sc, w)
	healthSteps(sc, w)
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

// who matches an agent reference in a step.
const who = `(the leader|a follower|the other follower|agent (?:\d+|\$\{[a-z.]+\}))`

// agent resolves "the leader", "a follower", "the other follower",
// "agent 2" (1-based) to an index into the cluster.
func (w *world) agent(name string) (int, error) {
	name, err := w.expand(strings.TrimSpace(name))
	if err != nil {
		return -1, err
	}
	switch name {
	case "the leader":
		l, err := w.c.WaitForLeader(10 * time.Second)
		return l, err
	case "a follower", "the other follower", "another follower":
		if _, err := w.c.WaitForLeader(10 * time.Second); err != nil {
			return -1, err
		}
		f := w.c.Followers()
		if len(f) == 0 {
			return -1, fmt.Errorf("no follower is running")
		}
		if name != "a follower" && len(f) > 1 {
			return f[1], nil
		}
		return f[0], nil
	}
	var n int
	if _, err := fmt.Sscanf(name, "agent %d", &n); err != nil || n < 1 || n > len(w.c.Agents) {
		return -1, fmt.Errorf("unknown agent %q (say the leader, a follower or agent N)", name)
	}
	if w.c.Agents[n-1] == nil {
		return -1, fmt.Errorf("agent %d is not running", n)
	}
	return n - 1, nil
}

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
		time.Sleep(25 * time.Millisecond)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
