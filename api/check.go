package api

import (
	"time"

	"github.com/custodes/custodes/fsm/catalog"
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

// parseCheck turns a registration's check, as the API spells it (duration
// strings), into the catalog's, with its defaults filled in. Only the
// duration syntax is checked here; the rules are the catalog's (Validate).
func parseCheck(v *checkView, address string) (*catalog.Check, error) {
	if v == nil {
		return nil, nil
	}
	c := catalog.Check{
		HTTP:                   v.HTTP,
		FailuresBeforeCritical: v.FailuresBeforeCritical,
		SuccessesBeforePassing: v.SuccessesBeforePassing,
	}
	for _, d := range []struct {
		field, v string
		dst      *time.Duration
	}{
		{"check.ttl", v.TTL, &c.TTL},
		{"check.deregister_after", v.DeregisterAfter, &c.DeregisterAfter},
		{"check.interval", v.Interval, &c.Interval},
		{"check.timeout", v.Timeout, &c.Timeout},
	} {
		var err error
		if *d.dst, err = parseDur(d.field, d.v); err != nil {
			return nil, err
		}
	}
	c.SetDefaults(address)
	return &c, nil
}
