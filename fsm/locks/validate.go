package locks

import (
	"fmt"
	"regexp"
)

// ValidationError is a request that breaks a rule. Its message is what
// the client is told, so it names the field and the rule.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// MaxHolderLen bounds a holder's name (a user).
const MaxHolderLen = 256

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hexRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func validateFile(v string) error {
	if v == "" {
		return invalidf("file is required")
	}
	if !uuidRE.MatchString(v) {
		return invalidf("file %q must be a lowercase UUID", v)
	}
	return nil
}

// validateHash never repeats the value: whatever was sent may be a token.
func validateHash(v string) error {
	if !hexRE.MatchString(v) {
		return invalidf("token_hash must be 64 lowercase hex characters (a SHA-256)")
	}
	return nil
}

// Validate checks the request's rules. Time is not checked: the leader
// stamps it after validation.
func (r *LockRequest) Validate() error {
	if err := validateFile(r.File); err != nil {
		return err
	}
	if r.Holder == "" {
		return invalidf("holder is required")
	}
	if len(r.Holder) > MaxHolderLen {
		return invalidf("holder is longer than %d bytes", MaxHolderLen)
	}
	if err := validateHash(r.TokenHash); err != nil {
		return err
	}
	if r.TTL < MinTTL || r.TTL > MaxTTL {
		return invalidf("ttl must be %d-%d milliseconds (1s-5m), not %d", MinTTL, MaxTTL, r.TTL)
	}
	return nil
}

// Validate checks the request's rules.
func (r *UnlockRequest) Validate() error {
	if err := validateFile(r.File); err != nil {
		return err
	}
	return validateHash(r.TokenHash)
}
