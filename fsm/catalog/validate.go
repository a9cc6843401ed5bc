package catalog

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits are the bounds a request's check must respect. They are
// configuration, not rules of the log: tests lower them.
type Limits struct {
	MinCheckInterval   time.Duration
	MinDeregisterAfter time.Duration
}

// ValidationError is a request that breaks a rule. Its message is what
// the client is told, so it names the field and the rule.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

const (
	maxVersionLen = 128
	maxTags       = 64
	maxTagLen     = 128
	maxMetaKeys   = 64
	maxMetaKeyLen = 128
	maxMetaValLen = 512
)

// ValidateName checks a service name or kind: DNS-label-like, so names
// can become DNS names later. field names it in the message.
func ValidateName(field, v string) error {
	if !nameRE.MatchString(v) {
		if v == "" {
			return invalidf("%s is required", field)
		}
		return invalidf("%s %q is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit", field, v)
	}
	return nil
}

func validateAddress(v string) error {
	if v == "" {
		return invalidf("address is required")
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return invalidf("address %q is not host:port", v)
	}
	if host == "" || strings.ContainsAny(host, " /\\") {
		return invalidf("address %q has no valid host", v)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return invalidf("address %q: port must be a number from 1 to 65535", v)
	}
	return nil
}

func validateText(field, v string, max int) error {
	if len(v) > max {
		return invalidf("%s is longer than %d bytes", field, max)
	}
	if !utf8.ValidString(v) {
		return invalidf("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalidf("%s contains a control character", field)
		}
	}
	return nil
}

func validateTags(tags []string) error {
	if len(tags) > maxTags {
		return invalidf("at most %d tags", maxTags)
	}
	for i, t := range tags {
		if t == "" {
			return invalidf("tags[%d] is empty", i)
		}
		if err := validateText(fmt.Sprintf("tags[%d]", i), t, maxTagLen); err != nil {
			return err
		}
	}
	return nil
}

func validateMeta(meta map[string]string) error {
	if len(meta) > maxMetaKeys {
		return invalidf("at most %d meta keys", maxMetaKeys)
	}
	for k, v := range meta {
		if k == "" {
			return invalidf("meta has an empty key")
		}
		if err := validateText("meta key "+strconv.Quote(k), k, maxMetaKeyLen); err != nil {
			return err
		}
		if err := validateText("meta["+strconv.Quote(k)+"]", v, maxMetaValLen); err != nil {
			return err
		}
	}
	return nil
}

func validateURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidf("%s %q is not an http(s) URL", field, v)
	}
	return nil
}

// Validate checks a registration as the public API does. Its check must
// already have its defaults (Check.SetDefaults): the log holds complete
// checks, so Validate judges what would be stored.
func (r *RegisterRequest) Validate(lim Limits) error {
	if err := ValidateName("name", r.Name); err != nil {
		return err
	}
	if err := validateAddress(r.Address); err != nil {
		return err
	}
	if r.Kind != "" {
		if err := ValidateName("kind", r.Kind); err != nil {
			return err
		}
	}
	if err := validateText("version", r.Version, maxVersionLen); err != nil {
		return err
	}
	if err := validateTags(r.Tags); err != nil {
		return err
	}
	if err := validateMeta(r.Meta); err != nil {
		return err
	}
	if r.Check != nil {
		if err := r.Check.Validate(lim); err != nil {
			return err
		}
	}
	if r.Rectify != nil {
		return validateURL("rectify.url", r.Rectify.URL)
	}
	return nil
}

// Validate checks the fields an update sets, by the rules a registration
// meets.
func (r *UpdateInstanceRequest) Validate(Limits) error {
	if r.Address != nil {
		if err := validateAddress(*r.Address); err != nil {
			return err
		}
	}
	if r.Kind != nil && *r.Kind != "" {
		if err := ValidateName("kind", *r.Kind); err != nil {
			return err
		}
	}
	if r.Version != nil {
		if err := validateText("version", *r.Version, maxVersionLen); err != nil {
			return err
		}
	}
	if r.Tags != nil {
		if err := validateTags(*r.Tags); err != nil {
			return err
		}
	}
	if r.Meta != nil {
		return validateMeta(*r.Meta)
	}
	return nil
}

// Validate accepts any deregistration: an unknown id is a business
// outcome (ErrNotFound), not a malformed request.
func (r *DeregisterRequest) Validate(Limits) error { return nil }

// Validate checks that the status is one the table knows.
func (r *SetStatusRequest) Validate(Limits) error {
	if r.Status != StatusPassing && r.Status != StatusCritical {
		return invalidf("status %q must be %s or %s", r.Status, StatusPassing, StatusCritical)
	}
	return nil
}

// Check defaults, as a user of Consul would expect them.
const (
	DefaultCheckInterval = 10 * time.Second
	DefaultCheckTimeout  = 2 * time.Second
	DefaultFailures      = 2
	DefaultSuccesses     = 1
)

// SetDefaults fills what the client left out. "check": {} is an HTTP
// check of http://ADDRESS/alive with every default. A TTL check keeps
// only its ttl and deregister_after: heartbeats, not counts, decide its
// status, so failure and success counts are dropped.
func (c *Check) SetDefaults(address string) {
	if c.TTL != 0 {
		c.FailuresBeforeCritical, c.SuccessesBeforePassing = 0, 0
		return
	}
	if c.HTTP == "" {
		c.HTTP = "http://" + address + "/alive"
	}
	if c.Interval == 0 {
		c.Interval = DefaultCheckInterval
	}
	if c.Timeout == 0 {
		c.Timeout = min(DefaultCheckTimeout, c.Interval/2)
	}
	if c.FailuresBeforeCritical == 0 {
		c.FailuresBeforeCritical = DefaultFailures
	}
	if c.SuccessesBeforePassing == 0 {
		c.SuccessesBeforePassing = DefaultSuccesses
	}
}

// Validate checks a complete check (defaults filled in).
func (c *Check) Validate(lim Limits) error {
	if c.DeregisterAfter < 0 || (c.DeregisterAfter != 0 && c.DeregisterAfter < lim.MinDeregisterAfter) {
		return invalidf("check.deregister_after must be at least %s", lim.MinDeregisterAfter)
	}
	if c.TTL != 0 {
		if c.HTTP != "" || c.Interval != 0 || c.Timeout != 0 {
			return invalidf("a check has either ttl or http/interval/timeout, not both")
		}
		if c.TTL < lim.MinCheckInterval || c.TTL < 0 {
			return invalidf("check.ttl must be at least %s", lim.MinCheckInterval)
		}
		return nil
	}
	if err := validateURL("check.http", c.HTTP); err != nil {
		return err
	}
	if c.Interval < lim.MinCheckInterval || c.Interval <= 0 {
		return invalidf("check.interval must be at least %s", lim.MinCheckInterval)
	}
	if c.Timeout <= 0 {
		return invalidf("check.timeout must be positive")
	}
	if c.Timeout >= c.Interval {
		return invalidf("check.timeout (%s) must be less than check.interval (%s)", c.Timeout, c.Interval)
	}
	if c.FailuresBeforeCritical < 1 || c.FailuresBeforeCritical > 100 {
		return invalidf("check.failures_before_critical must be from 1 to 100")
	}
	if c.SuccessesBeforePassing < 1 || c.SuccessesBeforePassing > 100 {
		return invalidf("check.successes_before_passing must be from 1 to 100")
	}
	return nil
}
