package health

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/catalog"
)

// leaderWork runs while this agent leads: TTL deadlines, deregistering
// long-critical instances, and rectify webhooks.
func (c *Checker) leaderWork(ctx context.Context) {
	// Every TTL instance gets a full TTL of grace from the start of this
	// term: heartbeats sent to the previous leader are not known here.
	now := time.Now()
	c.mu.Lock()
	c.beats = map[string]time.Time{}
	for _, inst := range c.node.FSM().CheckedInstances() {
		if inst.Check != nil && inst.Check.TTL != 0 {
			c.beats[inst.ID] = now
		}
	}
	c.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		c.rectifyLoop(ctx)
	}()
	defer func() { <-done }()

	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.expire(ctx, time.Now())
		}
	}
}

// expire marks TTL instances whose deadline passed critical and
// deregisters instances critical for longer than deregister_after.
func (c *Checker) expire(ctx context.Context, now time.Time) {
	for _, inst := range c.node.FSM().CheckedInstances() {
		if inst.Check == nil {
			continue
		}
		if inst.Check.TTL != 0 && inst.Status != catalog.StatusCritical {
			c.mu.Lock()
			last, ok := c.beats[inst.ID]
			if !ok {
				last = now // registered during this term: its TTL starts now
				c.beats[inst.ID] = now
			}
			c.mu.Unlock()
			if now.Sub(last) > inst.Check.TTL {
				_ = c.setStatus(ctx, inst.ID, catalog.StatusCritical, "ttl expired: no heartbeat for "+inst.Check.TTL.String())
			}
		}
		if inst.Status == catalog.StatusCritical && inst.Check.DeregisterAfter > 0 &&
			now.Sub(inst.StatusSince) > inst.Check.DeregisterAfter {
			_, err := c.node.Propose(ctx, fsm.DeregisterRequestType, &catalog.DeregisterRequest{ID: inst.ID})
			if err == nil {
				c.log.Info("deregistered long-critical instance", "instance", inst.ID, "critical_for", now.Sub(inst.StatusSince))
				c.mu.Lock()
				delete(c.beats, inst.ID)
				c.mu.Unlock()
			}
		}
	}
}

// maxWebhooks bounds concurrent rectify calls.
const maxWebhooks = 8

// rectifyLoop follows the event log from this term's start and calls the
// rectify webhook of every instance that turns critical: once per
// transition (each transition is one event, with its own index).
func (c *Checker) rectifyLoop(ctx context.Context) {
	after := c.node.FSM().AppliedIndex()
	sem := make(chan struct{}, maxWebhooks)
	for {
		evs, gap, more := c.node.FSM().Events(after)
		if gap {
			after = c.node.FSM().AppliedIndex()
			continue
		}
		for _, ev := range evs {
			after = ev.Index
			inst, ok := ev.Payload.(*catalog.Instance)
			if ev.Type != catalog.EventCritical || !ok || inst.Rectify == nil {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func(inst catalog.Instance) {
				defer func() { <-sem }()
				c.callRectify(ctx, inst)
			}(*inst)
		}
		select {
		case <-ctx.Done():
			return
		case <-more:
		}
	}
}

// rectifyBody is what the webhook receives.
type rectifyBody struct {
	Event    string           `json:"event"`
	Instance catalog.Instance `json:"instance"`
}

func (c *Checker) callRectify(ctx context.Context, inst catalog.Instance) {
	body, _ := json.Marshal(rectifyBody{Event: "critical", Instance: inst})
	backoff := 100 * time.Millisecond
	for attempt := 1; attempt <= c.cfg.RectifyAttempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.cfg.RectifyTimeout)
		req, err := http.NewRequestWithContext(actx, http.MethodPost, inst.Rectify.URL, bytes.NewReader(body))
		if err != nil {
			cancel()
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				c.log.Info("rectify webhook called", "instance", inst.ID, "url", inst.Rectify.URL)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	c.log.Warn("rectify webhook failed", "instance", inst.ID, "url", inst.Rectify.URL, "attempts", c.cfg.RectifyAttempts)
}
