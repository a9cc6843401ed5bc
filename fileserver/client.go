package fileserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/custodes/custodes/keyring"
)

// Client calls file servers: the agents' half of the protocol. Its zero
// value works (http.DefaultClient, no key, http).
type Client struct {
	// HTTP sends the requests (http.DefaultClient when nil). It must not
	// sign them itself: the Client signs every request (streamed for
	// copies' bodies).
	HTTP *http.Client
	// Signer signs with the cluster key; nil sends unsigned.
	Signer *keyring.Signer
	// Scheme is "http" (the default) or "https".
	Scheme string
	// SkipReadHash leaves out Get's SHA-256 of a whole copy read from
	// the start. The directory sets it: it reads exactly the index's
	// length (never to EOF, where the check happens), compares the copy's
	// size and SHA-256 headers with the index, and the file server checks
	// every chunk's CRC before sending it; the hash would cost a core
	// for nothing.
	SkipReadHash bool
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

func (c *Client) url(addr, path string) string {
	scheme := strings.TrimSuffix(c.Scheme, "://")
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + addr + path
}

func copyPath(file string, version uint64) string {
	return "/v1/copies/" + file + "/" + strconv.FormatUint(version, 10)
}

// do signs (body as given) and sends req, and turns an error answer into
// an *Error. On success the caller closes the response body.
func (c *Client) do(req *http.Request, body []byte, streamed bool) (*http.Response, error) {
	if streamed {
		c.Signer.SignStreamed(req)
	} else {
		c.Signer.SignBody(req, body)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb errorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &eb) != nil || eb.Code == "" {
		eb.Code, eb.Error = CodeInternal, strings.TrimSpace(string(b))
		if resp.StatusCode == http.StatusNotFound {
			eb.Code = CodeNotFound
		}
	}
	return nil, &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
}

// call sends a small request with an optional JSON body and decodes the
// JSON answer into out (when not nil).
func (c *Client) call(ctx context.Context, method, addr, path string, in, out any) error {
	var body []byte
	var rd io.Reader
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(addr, path), rd)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req, body, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("file server %s: %s %s: decoding the answer: %w", addr, method, path, err)
	}
	return nil
}

// hashingReader hashes what is read through it; the mutex orders the
// transport's reads before the caller's sum.
type hashingReader struct {
	mu  sync.Mutex
	r   io.Reader
	h   hash.Hash
	n   int64
	eof bool
}

func (h *hashingReader) Read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err == io.EOF {
		h.eof = true
	}
	return n, err
}

func (h *hashingReader) sum() (string, int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return hex.EncodeToString(h.h.Sum(nil)), h.n, h.eof
}

// Put stores body as version of file on the file server at addr, with
// fence (0: no lock). The body is streamed (a streamed signature); its
// SHA-256 is computed on the way and must equal the server's answer
// (ErrSHA256Mismatch). When body has a Len method (bytes.Reader,
// strings.Reader, bytes.Buffer) its length is sent as Content-Length.
func (c *Client) Put(ctx context.Context, addr, file string, version, fence uint64, body io.Reader) (CopyInfo, error) {
	size := int64(-1)
	if l, ok := body.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	return c.put(ctx, addr, file, version, fence, body, size, "")
}

// put is Put with a known size (-1: unknown) and an expected SHA-256 the
// server checks before storing ("" : none).
func (c *Client) put(ctx context.Context, addr, file string, version, fence uint64, body io.Reader, size int64, wantSHA string) (CopyInfo, error) {
	hr := &hashingReader{r: body, h: sha256.New()}
	var rd io.Reader = hr
	if size == 0 {
		rd, hr.eof = http.NoBody, true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url(addr, copyPath(file, version)+"?fence="+strconv.FormatUint(fence, 10)), rd)
	if err != nil {
		return CopyInfo{}, err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if wantSHA != "" {
		req.Header.Set(HeaderSHA256, wantSHA)
	}
	resp, err := c.do(req, nil, true)
	if err != nil {
		return CopyInfo{}, err
	}
	defer resp.Body.Close()
	var info CopyInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return CopyInfo{}, fmt.Errorf("file server %s: put: decoding the answer: %w", addr, err)
	}
	sum, n, eof := hr.sum()
	if !eof || info.SHA256 != sum || info.Size != n {
		return info, fmt.Errorf("%w: %s stored %d bytes with sha256 %s, %d bytes with %s were sent", ErrSHA256Mismatch, addr, info.Size, info.SHA256, n, sum)
	}
	return info, nil
}

// Get reads version of file from the file server at addr from offset
// (0 ≤ offset < size; at offset 0 any size). The CopyInfo has the copy's
// whole size, SHA-256, version and fence. Read from offset 0, the body is
// checked against the SHA-256 at its end (ErrCorrupt); a body cut short
// (the server found a corrupt chunk) fails with io.ErrUnexpectedEOF.
func (c *Client) Get(ctx context.Context, addr, file string, version uint64, offset int64) (io.ReadCloser, CopyInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(addr, copyPath(file, version)), nil)
	if err != nil {
		return nil, CopyInfo{}, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := c.do(req, nil, false)
	if err != nil {
		return nil, CopyInfo{}, err
	}
	info := CopyInfo{File: file, Version: version, Size: resp.ContentLength, SHA256: strings.Trim(resp.Header.Get("ETag"), `"`)}
	info.Fence, _ = strconv.ParseUint(resp.Header.Get(HeaderFence), 10, 64)
	if resp.StatusCode == http.StatusPartialContent {
		cr := resp.Header.Get("Content-Range")
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			info.Size, _ = strconv.ParseInt(cr[i+1:], 10, 64)
		}
	} else if offset > 0 {
		_ = resp.Body.Close()
		return nil, info, fmt.Errorf("file server %s: asked from %d, got %d", addr, offset, resp.StatusCode)
	}
	if offset > 0 || c.SkipReadHash {
		return resp.Body, info, nil
	}
	return &checkedBody{rc: resp.Body, h: sha256.New(), want: info.SHA256, addr: addr}, info, nil
}

// checkedBody checks a whole copy's SHA-256 when it ends.
type checkedBody struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
	addr string
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(b.h.Sum(nil)); got != b.want {
			return n, fmt.Errorf("%w: %s sent bytes with sha256 %s, want %s", ErrCorrupt, b.addr, got, b.want)
		}
	}
	return n, err
}

func (b *checkedBody) Close() error { return b.rc.Close() }

// Delete removes one copy (no error when it is already gone).
func (c *Client) Delete(ctx context.Context, addr, file string, version uint64) error {
	return c.call(ctx, http.MethodDelete, addr, copyPath(file, version), nil, nil)
}

// DeleteAll removes every copy of file.
func (c *Client) DeleteAll(ctx context.Context, addr, file string) error {
	return c.call(ctx, http.MethodDelete, addr, "/v1/copies/"+file, nil, nil)
}

// Inventory lists the copies the file server at addr holds.
func (c *Client) Inventory(ctx context.Context, addr string) (Inventory, error) {
	var inv Inventory
	err := c.call(ctx, http.MethodGet, addr, "/v1/inventory", nil, &inv)
	return inv, err
}

// CopyTo asks the file server at addr to PUT its copy to target, and
// returns the target's CopyInfo (its SHA-256 checked against the source's).
func (c *Client) CopyTo(ctx context.Context, addr, file string, version uint64, target string) (CopyInfo, error) {
	var info CopyInfo
	err := c.call(ctx, http.MethodPost, addr, copyPath(file, version)+"/copy-to", CopyToRequest{Target: target}, &info)
	return info, err
}

// Alive calls GET /alive and returns the server's id.
func (c *Client) Alive(ctx context.Context, addr string) (string, error) {
	var out struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	}
	if err := c.call(ctx, http.MethodGet, addr, "/alive", nil, &out); err != nil {
		return "", err
	}
	if out.Status != "alive" {
		return out.ID, errors.New("file server " + addr + " answered status " + out.Status)
	}
	return out.ID, nil
}
