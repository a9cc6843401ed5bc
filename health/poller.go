package health

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/custodes/custodes/fsm/catalog"
)

// poller runs one instance's HTTP check on the agent that owns it. It
// counts consecutive results from the instance's replicated status and
// proposes only transitions.
type poller struct {
	c      *Checker
	id     string
	check  catalog.Check
	cancel context.CancelFunc
}

func (p *poller) run(ctx context.Context) {
	t := time.NewTicker(p.check.Interval)
	defer t.Stop()
	fails, oks := 0, 0
	for {
		ok, output := p.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		inst, exists := p.c.node.FSM().Instance(p.id)
		if !exists {
			return
		}
		if ok {
			oks, fails = oks+1, 0
		} else {
			fails, oks = fails+1, 0
		}
		switch {
		case inst.Status != catalog.StatusCritical && fails >= p.check.FailuresBeforeCritical:
			if p.c.setStatus(ctx, p.id, catalog.StatusCritical, output) == nil {
				fails = 0
			}
		case inst.Status == catalog.StatusCritical && oks >= p.check.SuccessesBeforePassing:
			if p.c.setStatus(ctx, p.id, catalog.StatusPassing, output) == nil {
				oks = 0
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe GETs the check URL: a 2xx answer within the timeout passes.
func (p *poller) probe(ctx context.Context) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, p.check.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.check.HTTP, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := p.c.client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("GET %s: %v", p.check.HTTP, err)
	}
	resp.Body.Close()
	out := fmt.Sprintf("GET %s: %s", p.check.HTTP, resp.Status)
	return resp.StatusCode >= 200 && resp.StatusCode < 300, out
}
