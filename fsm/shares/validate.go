package shares

import (
	"fmt"
	"regexp"
	"slices"
)

// ValidationError is a request that breaks a rule. Its message is what
// the client is told, so it names the field and the rule.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// MaxUserLen bounds a user name.
const MaxUserLen = 256

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func validateUser(field, v string) error {
	if v == "" {
		return invalidf("%s is required", field)
	}
	if len(v) > MaxUserLen {
		return invalidf("%s is longer than %d bytes", field, MaxUserLen)
	}
	return nil
}

// Validate checks the request's rules.
func (r *ShareRequest) Validate() error {
	if r.File == "" {
		return invalidf("file is required")
	}
	if !uuidRE.MatchString(r.File) {
		return invalidf("file %q must be a lowercase UUID", r.File)
	}
	if err := validateUser("user", r.User); err != nil {
		return err
	}
	if !slices.Contains(KnownModes, r.Mode) {
		return invalidf("mode %q is not one of %v", r.Mode, KnownModes)
	}
	return validateUser("by", r.By)
}
