package fileserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Errors of the store, the server and the client; the client maps the
// server's error codes back to them, so callers match with errors.Is.
var (
	ErrBadID          = errors.New("bad id: a file is a lowercase UUID, a version a positive integer")
	ErrNotFound       = errors.New("copy not found")
	ErrStaleFence     = errors.New("stale fence: a higher fence was seen for this file")
	ErrCorrupt        = errors.New("copy is corrupt: a chunk failed its CRC-32C check")
	ErrTooLarge       = errors.New("copy too large")
	ErrSHA256Mismatch = errors.New("sha256 of the bytes does not match")
	ErrUnauthorized   = errors.New("unauthorized: the cluster key is required")
)

// Wire codes of the errors ({"code","error"} bodies).
const (
	CodeBadRequest     = "bad_request"
	CodeNotFound       = "not_found"
	CodeStaleFence     = "stale_fence"
	CodeCorrupt        = "corrupt"
	CodeTooLarge       = "too_large"
	CodeSHA256Mismatch = "sha256_mismatch"
	CodeUnauthorized   = "unauthorized"
	CodeInternal       = "internal"
	CodeUnavailable    = "unavailable"
)

var codeErrors = map[string]error{
	CodeBadRequest: ErrBadID, CodeNotFound: ErrNotFound, CodeStaleFence: ErrStaleFence,
	CodeCorrupt: ErrCorrupt, CodeTooLarge: ErrTooLarge, CodeSHA256Mismatch: ErrSHA256Mismatch,
	CodeUnauthorized: ErrUnauthorized,
}

// Error is an error answer of a file server as the client sees it. It
// unwraps to the sentinel of its code, if any.
type Error struct {
	Status  int    // HTTP status
	Code    string // wire code
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("file server: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the sentinel of e's code (nil when unknown).
func (e *Error) Unwrap() error { return codeErrors[e.Code] }

// errorBody is the JSON shape of an error answer.
type errorBody struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// statusOf maps an error to its status and code.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, ErrBadID):
		return http.StatusBadRequest, CodeBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, ErrStaleFence):
		return http.StatusConflict, CodeStaleFence
	case errors.Is(err, ErrCorrupt):
		return http.StatusInternalServerError, CodeCorrupt
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, CodeTooLarge
	case errors.Is(err, ErrSHA256Mismatch):
		return http.StatusBadRequest, CodeSHA256Mismatch
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, CodeUnauthorized
	}
	return http.StatusInternalServerError, CodeInternal
}

// writeError answers with err's status and {"code","error"}.
func writeError(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	writeErrorCode(w, status, code, err)
}

func writeErrorCode(w http.ResponseWriter, status int, code string, err error) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Custodes-HMAC")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Code: code, Error: err.Error()})
}

// writeJSON answers with status and v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
