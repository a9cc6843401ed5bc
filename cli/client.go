package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodes/custodes/keyring"
)

// callTimeout bounds a call that is not a stream (files, snapshots,
// watches and event streams run until done or interrupted).
const callTimeout = 30 * time.Second

// maxErrorBody is how much of an error answer is read.
const maxErrorBody = 64 << 10

// client calls one agent's API.
type client struct {
	hc     *http.Client
	base   string // scheme://host:port, no trailing slash
	token  string
	signer *keyring.Signer // nil without a cluster key
}

// apiError is an answer outside 2xx: its status and the API's message.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Msg) }

// client builds the client the flags and the environment describe.
func (f *cmdFlags) client(inv *invocation) (*client, error) {
	pick := func(flagValue, env string) string {
		if flagValue != "" {
			return flagValue
		}
		return strings.TrimSpace(inv.getenv(env))
	}
	addr := pick(f.http, EnvHTTPAddr)
	if addr == "" {
		addr = DefaultHTTPAddr
	}
	tlsCfg, err := clientTLS(pick(f.tlsCA, EnvCACert), pick(f.tlsCert, EnvClientCert), pick(f.tlsKey, EnvClientKey))
	if err != nil {
		return nil, f.usagef("%v", err)
	}
	base, err := baseURL(addr, tlsCfg != nil)
	if err != nil {
		return nil, f.usagef("%v", err)
	}
	keys, _, err := keyring.Load(f.encrypt, f.encryptFile, inv.getenv)
	if err != nil {
		return nil, f.usagef("cluster key: %v", err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsCfg
	return &client{
		hc: &http.Client{
			Transport: t,
			// The API never redirects a client; show one as it is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		base:   base,
		token:  pick(f.token, EnvToken),
		signer: keyring.NewSigner(keys),
	}, nil
}

// baseURL turns --http into a base URL: host:port gets http://, or
// https:// when a CA was given.
func baseURL(addr string, withTLS bool) (string, error) {
	addr = strings.TrimRight(addr, "/")
	if !strings.Contains(addr, "://") {
		if withTLS {
			addr = "https://" + addr
		} else {
			addr = "http://" + addr
		}
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("--http %q: give host:port, http://host:port or https://host:port", addr)
	}
	return u.Scheme + "://" + u.Host, nil
}

// clientTLS is the TLS configuration for --tls-ca and the client
// certificate; nil without a CA (https:// then trusts the system's roots).
func clientTLS(ca, cert, key string) (*tls.Config, error) {
	if (cert == "") != (key == "") {
		return nil, errors.New("give --tls-cert and --tls-key together")
	}
	if ca == "" && cert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", ca)
		}
		cfg.RootCAs = pool
	}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", cert, key, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// request is one call to make.
type request struct {
	method string
	path   string // with the leading slash, not escaped
	query  url.Values
	header http.Header
	// json is a JSON body; stream a body read as it is sent (signed with
	// the cluster key as streamed).
	json   []byte
	stream io.Reader
	// length is stream's length, -1 when unknown (sent chunked).
	length int64
	// ok lists the statuses beyond 2xx that are answers, not errors.
	ok []int
}

// readRetryFor is how long a read refused with 503 or 429 (an election
// under way, a limit) is tried again, as its Retry-After says. Writes are
// never tried again here: the agent has already waited for a leader as
// long as --leader-wait allows, and a write's 503 may have been applied.
const readRetryFor = 5 * time.Second

// do sends r and returns the response of a 2xx (or r.ok) answer, whose
// body the caller closes; any other answer is an *apiError. A GET refused
// with 503 or 429 is tried again for up to readRetryFor.
func (c *client) do(ctx context.Context, r request) (*http.Response, error) {
	deadline := time.Now().Add(readRetryFor)
	for {
		resp, err := c.once(ctx, r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode/100 == 2 || slices.Contains(r.ok, resp.StatusCode) {
			return resp, nil
		}
		wait, again := retryAfter(resp), r.method == http.MethodGet &&
			(resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests)
		if !again || time.Now().Add(wait).After(deadline) {
			defer resp.Body.Close()
			return nil, errorOf(resp)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryAfter is an answer's Retry-After in seconds, 1 s when absent, at
// most 2 s (a CLI user is waiting).
func retryAfter(resp *http.Response) time.Duration {
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		return time.Second
	}
	return min(time.Duration(secs)*time.Second, 2*time.Second)
}

// once sends r once.
func (c *client) once(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + (&url.URL{Path: r.path}).EscapedPath()
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	switch {
	case r.json != nil:
		body = bytes.NewReader(r.json)
	case r.stream != nil && r.length != 0:
		body = r.stream
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.json != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.stream != nil {
		req.ContentLength = r.length
		if r.length == 0 {
			req.Body = http.NoBody
		}
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	switch {
	case c.signer == nil:
	case r.stream != nil:
		// A stream is not held to hash: its signature covers the request
		// but not the body, which the agent checks otherwise (an archive
		// to restore is checked whole; the agent accepts such a signature
		// only there).
		c.signer.SignStreamed(req)
	default:
		c.signer.SignBody(req, r.json)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, callError(err)
	}
	return resp, nil
}

// callError words a failed call without Go's "Get \"http://...\":" prefix
// repeated in every line.
func callError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, ue.URL, ue.Err)
	}
	return err
}

// errorOf reads an error answer: the API's {"error"} message, else the
// body's text, else the status text.
func errorOf(resp *http.Response) *apiError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(raw, &body) == nil && body.Error != "" {
		msg = body.Error
	} else if t := strings.TrimSpace(string(raw)); t != "" {
		msg = t
	} else {
		msg = strings.ToLower(http.StatusText(resp.StatusCode))
	}
	return &apiError{Status: resp.StatusCode, Msg: msg}
}

// call makes a short call (bounded by callTimeout) and returns its whole
// body and headers.
func (c *client) call(ctx context.Context, r request) ([]byte, http.Header, int, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s %s: reading the answer: %w", r.method, r.path, err)
	}
	return raw, resp.Header, resp.StatusCode, nil
}

// get calls GET path and decodes the answer into out (which may be nil);
// it returns the raw body for -json.
func (c *client) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	raw, _, _, err := c.call(ctx, request{method: http.MethodGet, path: path, query: query})
	if err != nil {
		return nil, err
	}
	return raw, decode(raw, out, path)
}

// send calls method path with in as its JSON body (none when in is nil)
// and decodes the answer into out.
func (c *client) send(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	r := request{method: method, path: path, query: query}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		r.json = b
	}
	raw, _, _, err := c.call(ctx, r)
	if err != nil {
		return nil, err
	}
	return raw, decode(raw, out, path)
}

func decode(raw []byte, out any, path string) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: the answer is not the JSON expected: %v", path, err)
	}
	return nil
}

// get is the commands' usual read: build the client, GET path into out,
// and with -json print the API's answer as it is. done reports that the
// answer was printed (the command has nothing left to do).
func (f *cmdFlags) get(inv *invocation, path string, query url.Values, out any) (done bool, err error) {
	c, err := f.client(inv)
	if err != nil {
		return false, err
	}
	raw, err := c.get(inv.ctx, path, query, out)
	return f.printed(inv, raw, err)
}

// send is get for a call with a JSON body (in, none when nil).
func (f *cmdFlags) send(inv *invocation, method, path string, query url.Values, in, out any) (done bool, err error) {
	c, err := f.client(inv)
	if err != nil {
		return false, err
	}
	raw, err := c.send(inv.ctx, method, path, query, in, out)
	return f.printed(inv, raw, err)
}

// printed prints raw with -json once the call succeeded.
func (f *cmdFlags) printed(inv *invocation, raw []byte, err error) (bool, error) {
	if err != nil || !f.json {
		return false, err
	}
	return true, writeJSON(inv.stdout, raw)
}
