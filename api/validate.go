package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/custodes/custodes/fsm/catalog"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// registerBody is the JSON body of POST /register.
type registerBody struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Version string            `json:"version"`
	Kind    string            `json:"kind"`
	Tags    []string          `json:"tags"`
	Meta    map[string]string `json:"meta"`
	Check   *checkView        `json:"check"`
	Rectify *catalog.Rectify  `json:"rectify"`
}

// updateBody is the JSON body of PUT /instance/{id}: absent fields stay.
type updateBody struct {
	Version *string            `json:"version"`
	Kind    *string            `json:"kind"`
	Address *string            `json:"address"`
	Tags    *[]string          `json:"tags"`
	Meta    *map[string]string `json:"meta"`
}

// validName checks a name taken from a path, by the catalog's rule.
func validName(field, v string) error {
	if err := catalog.ValidateName(field, v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
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
