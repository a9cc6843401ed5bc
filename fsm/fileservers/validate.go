package fileservers

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ValidationError is a request that breaks a rule. Its message is what
// the client is told, so it names the field and the rule.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// MaxIDLen bounds a server id: ids end up in every file's replica list.
const MaxIDLen = 256

// ValidateID checks a server id: 1-256 bytes of UTF-8 without control
// characters, spaces or '/' (ids appear in logs and paths).
func ValidateID(field, v string) error {
	if v == "" {
		return invalidf("%s is required", field)
	}
	if len(v) > MaxIDLen {
		return invalidf("%s is longer than %d bytes", field, MaxIDLen)
	}
	if !utf8.ValidString(v) {
		return invalidf("%s is not valid UTF-8", field)
	}
	for _, c := range v {
		if c < 0x21 || c == 0x7f || c == '/' || (c >= 0x80 && c < 0xa0) {
			return invalidf("%s %q has a space, control character or '/'", field, v)
		}
	}
	return nil
}

// ValidateAddress checks a server address: host:port with a non-empty
// host and a port in 1-65535.
func ValidateAddress(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return invalidf("address %q must be host:port", v)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return invalidf("address %q: port must be 1-65535", v)
	}
	return nil
}

// ValidateState checks a state name.
func ValidateState(v string) error {
	if !slices.Contains(KnownStates, v) {
		return invalidf("state %q is not one of %v", v, KnownStates)
	}
	return nil
}

// Validate checks the request's rules.
func (r *RegisterRequest) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	return ValidateAddress(r.Address)
}

// Validate checks the request's rules.
func (r *SetStateRequest) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	return ValidateState(r.State)
}
