package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/custodes/custodes/fsm"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

const (
	maxVersionLen = 128
	maxTags       = 64
	maxTagLen     = 128
	maxMetaKeys   = 64
	maxMetaKeyLen = 128
	maxMetaValLen = 512
)

// registerBody is the JSON body of POST /register.
type registerBody struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Version string            `json:"version"`
	Kind    string            `json:"kind"`
	Tags    []string          `json:"tags"`
	Meta    map[string]string `json:"meta"`
	Check   *checkView        `json:"check"`
	Rectify *fsm.Rectify      `json:"rectify"`
}

// updateBody is the JSON body of PUT /instance/{id}: absent fields stay.
type updateBody struct {
	Version *string            `json:"version"`
	Kind    *string            `json:"kind"`
	Address *string            `json:"address"`
	Tags    *[]string          `json:"tags"`
	Meta    *map[string]string `json:"meta"`
}

func validateName(field, v string) error {
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

func (b *registerBody) validate() error {
	if err := validateName("name", b.Name); err != nil {
		return err
	}
	if err := validateAddress(b.Address); err != nil {
		return err
	}
	if b.Kind != "" {
		if err := validateName("kind", b.Kind); err != nil {
			return err
		}
	}
	if err := validateText("version", b.Version, maxVersionLen); err != nil {
		return err
	}
	if err := validateTags(b.Tags); err != nil {
		return err
	}
	return validateMeta(b.Meta)
}

func (b *updateBody) validate() error {
	if b.Address != nil {
		if err := validateAddress(*b.Address); err != nil {
			return err
		}
	}
	if b.Kind != nil && *b.Kind != "" {
		if err := validateName("kind", *b.Kind); err != nil {
			return err
		}
	}
	if b.Version != nil {
		if err := validateText("version", *b.Version, maxVersionLen); err != nil {
			return err
		}
	}
	if b.Tags != nil {
		if err := validateTags(*b.Tags); err != nil {
			return err
		}
	}
	if b.Meta != nil {
		return validateMeta(*b.Meta)
	}
	return nil
}

// readBody reads at most MaxBodyBytes, refusing a larger declared length
// before reading anything.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBodyUpTo(w, r, MaxBodyBytes)
}

// readBodyUpTo is readBody with another limit (a forwarded batch's).
func readBodyUpTo(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, limit)
	}
	if err != nil {
		return nil, invalidf("cannot read body: %v", err)
	}
	return b, nil
}

// decodeJSON decodes exactly one JSON object into v, naming the field
// and the problem when it cannot.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidf("request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
	case errors.As(err, &syn):
		return invalidf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidf("body must be a JSON object, not %s", typ.Value)
		}
		return invalidf("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidf("malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return invalidf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return invalidf("malformed JSON: %v", err)
	}
	if dec.More() {
		return invalidf("body must hold exactly one JSON object")
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "map"):
		return "an object of strings"
	case strings.Contains(goType, "[]"):
		return "an array of strings"
	case strings.Contains(goType, "string"):
		return "a string"
	}
	return goType
}
