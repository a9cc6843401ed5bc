package fileserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custodes/custodes/keyring"
)

// Headers of the protocol besides the standard ones.
const (
	// HeaderVersion and HeaderFence describe the copy a GET serves.
	HeaderVersion = "X-Custodes-Version"
	HeaderFence   = "X-Custodes-Fence"
	// HeaderSHA256, on a PUT, is the SHA-256 (hex) the bytes must have:
	// the server refuses others (sha256_mismatch) and stores nothing.
	HeaderSHA256 = "X-Custodes-SHA256"
)

// HandlerConfig is what the HTTP protocol serves from.
type HandlerConfig struct {
	// ID is the server's id, in /alive and the inventory.
	ID    string
	Store *Store
	// Keys: with a key list every route but GET /alive needs the cluster
	// key; PUT of a copy accepts a streamed signature.
	Keys [][]byte
	// Client makes copy-to's calls to other file servers.
	Client *Client
	// MaxCopySize bounds a PUT's body (default DefaultMaxCopySize).
	MaxCopySize int64
	Logger      *slog.Logger
	// Metrics is served, open, at GET /metrics; nil builds one over
	// Store without scrub counts.
	Metrics *Metrics
}

type handler struct {
	HandlerConfig
	verifier *keyring.Verifier
}

// NewHandler returns the file server's HTTP protocol (docs/DFS.md).
func NewHandler(c HandlerConfig) http.Handler {
	if c.MaxCopySize <= 0 {
		c.MaxCopySize = DefaultMaxCopySize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Client == nil {
		c.Client = &Client{Signer: keyring.NewSigner(c.Keys)}
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(c.Store, nil)
	}
	h := &handler{HandlerConfig: c}
	// Bodies other than copies are small JSON documents.
	h.verifier = keyring.NewVerifier(c.Keys, keyring.VerifierConfig{MaxBody: 1 << 20, Streamed: isCopyPut})

	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/copies/{file}/{version}", count(c.Metrics.puts, h.put))
	mux.HandleFunc("GET /v1/copies/{file}/{version}", count(c.Metrics.gets, h.get))
	mux.HandleFunc("DELETE /v1/copies/{file}/{version}", h.delete)
	mux.HandleFunc("DELETE /v1/copies/{file}", h.deleteAll)
	mux.HandleFunc("POST /v1/copies/{file}/{version}/copy-to", h.copyTo)
	mux.HandleFunc("GET /v1/inventory", h.inventory)
	signed := h.auth(mux)

	top := http.NewServeMux()
	top.HandleFunc("GET /alive", h.alive)
	top.Handle("GET /metrics", c.Metrics.handler())
	top.Handle("/", signed)
	return top
}

// isCopyPut reports whether r is PUT /v1/copies/{file}/{version}: the one
// request whose body is streamed, its signature not covering it.
func isCopyPut(r *http.Request) bool {
	if r.Method != http.MethodPut {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/copies/")
	return ok && strings.Count(rest, "/") == 1
}

// auth refuses requests without the cluster key, answering {"code","error"}.
func (h *handler) auth(next http.Handler) http.Handler {
	if h.verifier == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.verifier.Verify(r); err != nil {
			if errors.Is(err, keyring.ErrTooLarge) {
				writeErrorCode(w, http.StatusRequestEntityTooLarge, CodeTooLarge, err)
				return
			}
			writeErrorCode(w, http.StatusUnauthorized, CodeUnauthorized, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) alive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive", "id": h.ID})
}

// ids parses the path's file and version (version only when asked).
func ids(r *http.Request, withVersion bool) (string, uint64, error) {
	file, err := ParseFileID(r.PathValue("file"))
	if err != nil || !withVersion {
		return file, 0, err
	}
	v, err := ParseVersion(r.PathValue("version"))
	return file, v, err
}

func (h *handler) put(w http.ResponseWriter, r *http.Request) {
	file, version, err := ids(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	var fence uint64
	if f := r.URL.Query().Get("fence"); f != "" {
		if fence, err = strconv.ParseUint(f, 10, 64); err != nil {
			writeErrorCode(w, http.StatusBadRequest, CodeBadRequest, fmt.Errorf("fence %q is not a non-negative integer", f))
			return
		}
	}
	if r.ContentLength > h.MaxCopySize {
		writeError(w, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, h.MaxCopySize))
		return
	}
	body := http.MaxBytesReader(w, r.Body, h.MaxCopySize)
	info, err := h.Store.Put(file, version, fence, body, r.Header.Get(HeaderSHA256))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: over %d bytes", ErrTooLarge, h.MaxCopySize)
		}
		h.Logger.Warn("put refused", "file", file, "version", version, "fence", fence, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, info)
}

var errRange = errors.New("range not satisfiable")

// parseRange reads a single-range Range header against size: ok is false
// when the header is absent or is not one byte range (served in full, as
// RFC 9110 allows); errRange when no byte of it exists.
func parseRange(v string, size int64) (start, end int64, ok bool, err error) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	if a == "" { // suffix: the last b bytes
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errRange
		}
		return max(0, size-n), size - 1, true, nil
	}
	start, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || start < 0 {
		return 0, 0, false, nil
	}
	end = size - 1
	if b != "" {
		if end, perr = strconv.ParseInt(b, 10, 64); perr != nil || end < start {
			return 0, 0, false, nil
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, false, errRange
	}
	return start, end, true, nil
}

// readErr records the error of the reader it wraps, so a failed copy can
// tell the source's failure from the destination's.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	file, version, err := ids(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	info, err := h.Store.Stat(file, version)
	if err != nil {
		writeError(w, err)
		return
	}
	start, end, ranged, err := parseRange(r.Header.Get("Range"), info.Size)
	if err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
		writeErrorCode(w, http.StatusRequestedRangeNotSatisfiable, CodeBadRequest, err)
		return
	}
	if !ranged {
		start, end = 0, info.Size-1
	}
	rd, info, err := h.Store.Get(file, version, start)
	if err != nil {
		writeError(w, err)
		return
	}
	defer rd.Close()
	if end >= info.Size { // replaced meanwhile by a shorter copy
		writeError(w, fmt.Errorf("%w: %s version %d changed while being read", ErrNotFound, file, version))
		return
	}
	length := end - start + 1
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("ETag", `"`+info.SHA256+`"`)
	hd.Set("Accept-Ranges", "bytes")
	hd.Set(HeaderVersion, strconv.FormatUint(version, 10))
	hd.Set(HeaderFence, strconv.FormatUint(info.Fence, 10))
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if ranged {
		status = http.StatusPartialContent
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, info.Size))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	// The first chunk is read (and checked) before the status is sent, so
	// a copy corrupt from its start is answered with an error.
	src := &readErr{r: io.LimitReader(rd, length)}
	first := make([]byte, min(ChunkSize, length))
	n, err := io.ReadFull(src, first)
	if err != nil && !errors.Is(err, io.EOF) {
		h.Logger.Error("copy unreadable", "file", file, "version", version, "err", err)
		writeError(w, err)
		return
	}
	w.WriteHeader(status)
	if _, err := w.Write(first[:n]); err != nil {
		return
	}
	if _, err := io.CopyBuffer(w, src, make([]byte, ChunkSize)); err != nil && src.err != nil {
		// A later chunk failed its check: cut the connection so the
		// client sees a short body, never a complete-looking wrong one.
		h.Logger.Error("copy corrupt mid-stream", "file", file, "version", version, "err", src.err)
		panic(http.ErrAbortHandler)
	}
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	file, version, err := ids(r, true)
	if err == nil {
		err = h.Store.Delete(file, version)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) deleteAll(w http.ResponseWriter, r *http.Request) {
	file, _, err := ids(r, false)
	if err == nil {
		err = h.Store.DeleteAll(file)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Inventory is the answer of GET /v1/inventory.
type Inventory struct {
	ID     string     `json:"id"`
	Copies []CopyInfo `json:"copies"`
}

func (h *handler) inventory(w http.ResponseWriter, r *http.Request) {
	copies, err := h.Store.Inventory()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Inventory{ID: h.ID, Copies: copies})
}

// CopyToRequest is the body of POST .../copy-to.
type CopyToRequest struct {
	Target string `json:"target"`
}

// copyTo PUTs this copy to another file server with its fence and its
// SHA-256 (which the target checks), and answers the target's CopyInfo.
func (h *handler) copyTo(w http.ResponseWriter, r *http.Request) {
	file, version, err := ids(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	var req CopyToRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.Target == "" {
		writeErrorCode(w, http.StatusBadRequest, CodeBadRequest, fmt.Errorf("want {\"target\":\"host:port\"}: %v", err))
		return
	}
	rd, info, err := h.Store.Get(file, version, 0)
	if err != nil {
		writeError(w, err)
		return
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Minute)
	defer cancel()
	src := &readErr{r: rd}
	got, err := h.Client.put(ctx, req.Target, file, version, info.Fence, src, info.Size, info.SHA256)
	if src.err != nil {
		h.Logger.Error("copy-to: copy unreadable", "file", file, "version", version, "err", src.err)
		writeError(w, src.err)
		return
	}
	if err != nil {
		h.Logger.Warn("copy-to failed", "file", file, "version", version, "target", req.Target, "err", err)
		status, code := statusOf(err)
		if status == http.StatusInternalServerError || status == http.StatusUnauthorized {
			status = http.StatusBadGateway // the target's fault, not ours
		}
		if code == CodeInternal {
			code = CodeUnavailable
		}
		writeErrorCode(w, status, code, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}
