package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/custodes/custodes/keyring"
)

// Custodes is the directory's client API through one agent (docs/DFS.md):
// POST /write?name=NAME (201), GET /read?name=NAME (200), as a user.
type Custodes struct {
	Base  string // http://host:port of an agent
	Token string // a user's token (ACLs bootstrapped)
}

func (s Custodes) Name() string { return "custodes" }

func (s Custodes) WriteRequest(ctx context.Context, name string, body io.Reader, size int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Base+"/write?name="+url.QueryEscape(name), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	return req, nil
}

func (s Custodes) WriteOK(status int) bool { return status == http.StatusCreated }

func (s Custodes) ReadRequest(ctx context.Context, name string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/read?name="+url.QueryEscape(name), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	return req, nil
}

// Seaweed is a SeaweedFS filer: PUT http://filer/DIR/NAME with the bytes
// as the body (201), GET the same path (200). With Fsync, every write
// asks the volume servers to fsync before they answer (?fsync=true;
// SeaweedFS does not by default).
type Seaweed struct {
	Filer string // http://host:port
	Dir   string // a directory under which the files go, e.g. /bench/RUN
	Fsync bool
}

func (s Seaweed) Name() string {
	if s.Fsync {
		return "seaweedfs (fsync)"
	}
	return "seaweedfs"
}

func (s Seaweed) path(name string) string {
	return s.Filer + "/" + strings.Trim(s.Dir, "/") + "/" + url.PathEscape(name)
}

func (s Seaweed) WriteRequest(ctx context.Context, name string, body io.Reader, size int64) (*http.Request, error) {
	u := s.path(name)
	if s.Fsync {
		u += "?fsync=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	return req, nil
}

func (s Seaweed) WriteOK(status int) bool { return status == http.StatusCreated }

func (s Seaweed) ReadRequest(ctx context.Context, name string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, s.path(name), nil)
}

// Plain is a bare HTTP file writer (see Sink): PUT /NAME stores the bytes
// and fsyncs them (201), GET /NAME reads them. It is the direct baseline
// when no custodes file server is at hand: this machine's disk and
// loopback, with no directory, replication or checksums in the way.
type Plain struct {
	Label string
	Base  string
}

func (s Plain) Name() string { return s.Label }

func (s Plain) WriteRequest(ctx context.Context, name string, body io.Reader, size int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.Base+"/"+url.PathEscape(name), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	return req, nil
}

func (s Plain) WriteOK(status int) bool { return status == http.StatusCreated }

func (s Plain) ReadRequest(ctx context.Context, name string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/"+url.PathEscape(name), nil)
}

// FileServer is one custodes file server, written to directly (the
// direct baseline: the bytes the directory would send to one replica,
// without the directory): PUT /v1/copies/{uuid}/1?fence=0 (201) and GET
// /v1/copies/{uuid}/1 (200), signed with the cluster key. A copy's body is
// streamed, so its PUT carries the streamed signature
// ((*keyring.Signer).SignStreamed); a GET has no body and carries the
// plain one.
type FileServer struct {
	Base   string
	Signer *keyring.Signer
}

func (s FileServer) Name() string { return "direct: one file server" }

// ErrNoStreamedSigning: this build's keyring cannot sign a streamed body.
var ErrNoStreamedSigning = errors.New("this build's keyring has no (*Signer).SignStreamed: the file server baseline needs the DFS's keyring")

// Streamed signing is looked up at run time, so this file compiles with a
// keyring that predates it and uses it once it is there, whichever of the
// two shapes it has.
type (
	streamSignerErr interface{ SignStreamed(*http.Request) error }
	streamSigner    interface{ SignStreamed(*http.Request) }
)

// signStreamed signs r, whose body is streamed, with s.
func signStreamed(s any, r *http.Request) error {
	switch v := s.(type) {
	case streamSignerErr:
		return v.SignStreamed(r)
	case streamSigner:
		v.SignStreamed(r)
		return nil
	}
	return ErrNoStreamedSigning
}

// CanSignStreamed says whether this build can sign a copy's PUT.
func CanSignStreamed(s *keyring.Signer) bool {
	switch any(s).(type) {
	case streamSignerErr, streamSigner:
		return true
	}
	return false
}

// CopyID is the file id the benchmark gives the file called name: a
// lowercase UUID (version 4 layout) from name's SHA-256, so that a read
// finds what a write stored without a table.
func CopyID(name string) string {
	h := sha256.Sum256([]byte(name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (s FileServer) WriteRequest(ctx context.Context, name string, body io.Reader, size int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.Base+"/v1/copies/"+CopyID(name)+"/1?fence=0", body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	if err := signStreamed(s.Signer, req); err != nil {
		return nil, err
	}
	return req, nil
}

func (s FileServer) WriteOK(status int) bool { return status == http.StatusCreated }

func (s FileServer) ReadRequest(ctx context.Context, name string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/v1/copies/"+CopyID(name)+"/1", nil)
	if err != nil {
		return nil, err
	}
	s.Signer.SignBody(req, nil)
	return req, nil
}
