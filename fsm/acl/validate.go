package acl

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

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidateName checks a user name: 1-63 characters of a-z, 0-9, '_' and
// '-', starting with a letter or digit (safe in paths and logs).
func ValidateName(v string) error {
	if nameRE.MatchString(v) {
		return nil
	}
	if v == "" {
		return invalidf("name is required")
	}
	return invalidf("name %q is invalid: use 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit", v)
}

// ValidateRoles checks a role list: at least one, each known, none twice.
func ValidateRoles(roles []string) error {
	if len(roles) == 0 {
		return invalidf("roles: give at least one of %v", KnownRoles)
	}
	for i, r := range roles {
		if !slices.Contains(KnownRoles, r) {
			return invalidf("roles: %q is not a role; known roles are %v", r, KnownRoles)
		}
		if slices.Contains(roles[:i], r) {
			return invalidf("roles: %q appears twice", r)
		}
	}
	return nil
}

// validateHash checks a token hash: lowercase hex SHA-256. The message
// never repeats the value: whatever was sent there may be a token.
func validateHash(v string) error {
	if !hashRE.MatchString(v) {
		return invalidf("token_hash must be 64 lowercase hex characters (a SHA-256)")
	}
	return nil
}

// Validate checks the request's rules.
func (r *BootstrapRequest) Validate() error { return validateHash(r.TokenHash) }

// Validate checks the request's rules.
func (r *CreateUserRequest) Validate() error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if err := ValidateRoles(r.Roles); err != nil {
		return err
	}
	return validateHash(r.TokenHash)
}

// Validate checks the request's rules.
func (r *DeleteUserRequest) Validate() error { return ValidateName(r.Name) }

// Validate checks the request's rules.
func (r *SetTokenRequest) Validate() error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	return validateHash(r.TokenHash)
}
