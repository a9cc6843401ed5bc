package api

import (
	"net/url"
	"time"

	"github.com/custodes/custodes/fsm"
)

// Check defaults, as a user of Consul would expect them.
const (
	defaultCheckInterval = 10 * time.Second
	defaultCheckTimeout  = 2 * time.Second
	defaultFailures      = 2
	defaultSuccesses     = 1
)

func parseDur(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, invalidf("%s %q is not a positive duration such as 10s", field, v)
	}
	return d, nil
}

func validateURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidf("%s %q is not an http(s) URL", field, v)
	}
	return nil
}

// parseCheck validates a registration's check and fills in its defaults.
// "check": {} is an HTTP check of http://ADDRESS/alive with every default.
func (s *Server) parseCheck(v *checkView, address string) (*fsm.Check, error) {
	if v == nil {
		return nil, nil
	}
	var c fsm.Check
	var err error
	if c.TTL, err = parseDur("check.ttl", v.TTL); err != nil {
		return nil, err
	}
	if c.DeregisterAfter, err = parseDur("check.deregister_after", v.DeregisterAfter); err != nil {
		return nil, err
	}
	if c.DeregisterAfter != 0 && c.DeregisterAfter < s.cfg.MinDeregisterAfter {
		return nil, invalidf("check.deregister_after must be at least %s", s.cfg.MinDeregisterAfter)
	}
	if c.TTL != 0 {
		if v.HTTP != "" || v.Interval != "" || v.Timeout != "" {
			return nil, invalidf("a check has either ttl or http/interval/timeout, not both")
		}
		if c.TTL < s.cfg.MinCheckInterval {
			return nil, invalidf("check.ttl must be at least %s", s.cfg.MinCheckInterval)
		}
		return &c, nil
	}
	c.HTTP = v.HTTP
	if c.HTTP == "" {
		c.HTTP = "http://" + address + "/alive"
	} else if err := validateURL("check.http", c.HTTP); err != nil {
		return nil, err
	}
	if c.Interval, err = parseDur("check.interval", v.Interval); err != nil {
		return nil, err
	}
	if c.Interval == 0 {
		c.Interval = defaultCheckInterval
	}
	if c.Interval < s.cfg.MinCheckInterval {
		return nil, invalidf("check.interval must be at least %s", s.cfg.MinCheckInterval)
	}
	if c.Timeout, err = parseDur("check.timeout", v.Timeout); err != nil {
		return nil, err
	}
	if c.Timeout == 0 {
		c.Timeout = min(defaultCheckTimeout, c.Interval/2)
	}
	if c.Timeout >= c.Interval {
		return nil, invalidf("check.timeout (%s) must be less than check.interval (%s)", c.Timeout, c.Interval)
	}
	c.FailuresBeforeCritical, c.SuccessesBeforePassing = v.FailuresBeforeCritical, v.SuccessesBeforePassing
	if c.FailuresBeforeCritical == 0 {
		c.FailuresBeforeCritical = defaultFailures
	}
	if c.SuccessesBeforePassing == 0 {
		c.SuccessesBeforePassing = defaultSuccesses
	}
	if c.FailuresBeforeCritical < 1 || c.FailuresBeforeCritical > 100 {
		return nil, invalidf("check.failures_before_critical must be from 1 to 100")
	}
	if c.SuccessesBeforePassing < 1 || c.SuccessesBeforePassing > 100 {
		return nil, invalidf("check.successes_before_passing must be from 1 to 100")
	}
	return &c, nil
}

// parseRectify validates a registration's rectify webhook.
func parseRectify(r *fsm.Rectify) (*fsm.Rectify, error) {
	if r == nil {
		return nil, nil
	}
	if err := validateURL("rectify.url", r.URL); err != nil {
		return nil, err
	}
	return &fsm.Rectify{URL: r.URL}, nil
}
