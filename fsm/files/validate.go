package files

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidationError is a request that breaks a rule. Its message is what
// the client is told, so it names the field and the rule.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Limits of the rules below.
const (
	MaxNameLen   = 1024
	MaxUserLen   = 256
	MaxServerLen = 256
	MaxReplicas  = 16
)

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a lowercase UUID, 8-4-4-4-12 hex digits
// (checked by hand, not by a regexp: a restore checks millions of ids).
func isUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	return isLowerHex(s[0:8], 8) && isLowerHex(s[9:13], 4) && isLowerHex(s[14:18], 4) &&
		isLowerHex(s[19:23], 4) && isLowerHex(s[24:], 12)
}

// ValidateID checks a file id: a lowercase UUID (the file servers name
// directories after it).
func ValidateID(field, v string) error {
	if v == "" {
		return invalidf("%s is required", field)
	}
	if !isUUID(v) {
		return invalidf("%s %q must be a lowercase UUID", field, v)
	}
	return nil
}

// ValidateName checks a file name: 1-1024 bytes of UTF-8 without NUL or
// control characters, '/'-separated segments none of which is empty, '.'
// or '..' (so a name maps to one path, wherever it is shown).
func ValidateName(v string) error {
	if v == "" {
		return invalidf("name is required")
	}
	if len(v) > MaxNameLen {
		return invalidf("name is longer than %d bytes", MaxNameLen)
	}
	if !utf8.ValidString(v) {
		return invalidf("name is not valid UTF-8")
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalidf("name %q has a NUL or control character", v)
	}
	for seg := range strings.SplitSeq(v, "/") {
		switch seg {
		case "":
			return invalidf("name %q has an empty segment (a leading, trailing or double '/')", v)
		case ".", "..":
			return invalidf("name %q has a %q segment", v, seg)
		}
	}
	return nil
}

// ValidateUser checks a user name as files see it (owner, by): 1-256
// bytes. Whether the user exists is the ACL table's business.
func ValidateUser(field, v string) error {
	if v == "" {
		return invalidf("%s is required", field)
	}
	if len(v) > MaxUserLen {
		return invalidf("%s is longer than %d bytes", field, MaxUserLen)
	}
	return nil
}

// ValidateSHA256 checks a content hash: 64 lowercase hex characters.
func ValidateSHA256(field, v string) error {
	if !isLowerHex(v, 64) {
		return invalidf("%s must be 64 lowercase hex characters (a SHA-256)", field)
	}
	return nil
}

// ValidateReplicas checks a replica list: 1-16 server ids, none empty,
// longer than 256 bytes or there twice. Whether they are registered is
// the glue's check.
func ValidateReplicas(v []string) error {
	if len(v) == 0 || len(v) > MaxReplicas {
		return invalidf("replicas: give 1-%d server ids, not %d", MaxReplicas, len(v))
	}
	seen := make(map[string]bool, len(v))
	for i, id := range v {
		if id == "" {
			return invalidf("replicas[%d] is empty", i)
		}
		if len(id) > MaxServerLen {
			return invalidf("replicas[%d] is longer than %d bytes", i, MaxServerLen)
		}
		if seen[id] {
			return invalidf("replicas: %q appears twice", id)
		}
		seen[id] = true
	}
	return nil
}

func validateSize(v int64) error {
	if v < 0 {
		return invalidf("size must not be negative")
	}
	return nil
}

// Validate checks the request's rules. Time is not checked: the leader
// stamps it after validation.
func (r *CreateRequest) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	if err := ValidateUser("owner", r.Owner); err != nil {
		return err
	}
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if err := validateSize(r.Size); err != nil {
		return err
	}
	if err := ValidateSHA256("sha256", r.SHA256); err != nil {
		return err
	}
	if err := ValidateReplicas(r.Replicas); err != nil {
		return err
	}
	if r.Want < 1 || r.Want > MaxReplicas {
		return invalidf("want must be 1-%d, not %d", MaxReplicas, r.Want)
	}
	return nil
}

// Validate checks the request's rules. The token hash's message never
// repeats the value: a token pasted in the wrong field must not echo.
func (r *UpdateRequest) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	if r.Version < 2 {
		return invalidf("version must be the new version, at least 2")
	}
	if err := validateSize(r.Size); err != nil {
		return err
	}
	if err := ValidateSHA256("sha256", r.SHA256); err != nil {
		return err
	}
	if err := ValidateReplicas(r.Replicas); err != nil {
		return err
	}
	if err := ValidateSHA256("token_hash", r.TokenHash); err != nil {
		return err
	}
	if r.Fence == 0 {
		return invalidf("fence is required")
	}
	return nil
}

// Validate checks the request's rules.
func (r *DeleteRequest) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	return ValidateUser("by", r.By)
}

// Validate checks the request's rules.
func (r *SetReplicasRequest) Validate() error {
	if err := ValidateID("id", r.ID); err != nil {
		return err
	}
	if r.Version == 0 {
		return invalidf("version is required")
	}
	return ValidateReplicas(r.Replicas)
}
