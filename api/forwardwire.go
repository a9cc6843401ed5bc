package api

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// The forwarding stream's wire format. A follower sends the leader a batch
// of writes it received in one POST to ForwardPath, and gets their answers
// back in one reply, in the same order. Each string is a uvarint length and
// its bytes; a batch starts with a version byte and a uvarint count. It is
// binary, not JSON, so that the bodies are copied, never re-escaped.

// ForwardPath is where a leader takes batches of forwarded writes.
const ForwardPath = "/internal/forward"

const (
	wireVersion = 1
	// maxBatchWrites and maxBatchBytes bound one batch a follower sends;
	// the leader refuses bigger ones.
	maxBatchWrites = 256
	maxBatchBytes  = 8 << 20
	// maxBatchBody is what the leader reads of a batch: the bodies plus
	// room for the framing.
	maxBatchBody = maxBatchBytes + MaxBodyBytes + 64<<10
)

var errWire = errors.New("malformed forward batch")

// fwdRequest is one client write, as the follower received it.
type fwdRequest struct {
	Method, URI, ContentType string
	Body                     []byte
}

func (r *fwdRequest) size() int {
	return len(r.Method) + len(r.URI) + len(r.ContentType) + len(r.Body) + 32
}

// fwdResponse is the leader's answer to one write: the status, the headers
// a client may read, and the body.
type fwdResponse struct {
	Status                                 int
	ContentType, RetryAfter, Index, Served string
	NotLeader                              bool
	Body                                   []byte
}

// headers are the answer headers passed back to the client, with values.
func (r *fwdResponse) headers() [][2]string {
	return [][2]string{{"Content-Type", r.ContentType}, {"Retry-After", r.RetryAfter}, {HeaderIndex, r.Index}, {HeaderServedBy, r.Served}}
}

// appendField appends s with its uvarint length.
func appendField[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeRequests(reqs []*fwdRequest) []byte {
	n := 16
	for _, r := range reqs {
		n += r.size()
	}
	b := make([]byte, 0, n)
	b = append(b, wireVersion)
	b = binary.AppendUvarint(b, uint64(len(reqs)))
	for _, r := range reqs {
		b = appendField(b, r.Method)
		b = appendField(b, r.URI)
		b = appendField(b, r.ContentType)
		b = appendField(b, r.Body)
	}
	return b
}

func encodeResponses(resps []fwdResponse) []byte {
	n := 16
	for i := range resps {
		n += len(resps[i].Body) + 96
	}
	b := make([]byte, 0, n)
	b = append(b, wireVersion)
	b = binary.AppendUvarint(b, uint64(len(resps)))
	for i := range resps {
		r := &resps[i]
		b = binary.AppendUvarint(b, uint64(r.Status))
		for _, h := range r.headers() {
			b = appendField(b, h[1])
		}
		if r.NotLeader {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = appendField(b, r.Body)
	}
	return b
}

// wireReader decodes a batch; the first problem sticks.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errWire, what)
	}
}

func (r *wireReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) bytes(what string) []byte {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(what + " is cut short")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *wireReader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail(what + " is missing")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *wireReader) string(what string) string { return string(r.bytes(what)) }

func (r *wireReader) header(max uint64) int {
	if r.err == nil && (len(r.b) == 0 || r.b[0] != wireVersion) {
		r.fail("unknown version")
		return 0
	}
	if r.err == nil {
		r.b = r.b[1:]
	}
	n := r.uvarint("count")
	if n > max {
		r.fail(fmt.Sprintf("%d entries, the limit is %d", n, max))
		return 0
	}
	return int(n)
}

func (r *wireReader) end() {
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d bytes after the last entry", len(r.b)))
	}
}

func decodeRequests(b []byte) ([]*fwdRequest, error) {
	r := &wireReader{b: b}
	n := r.header(maxBatchWrites)
	out := make([]*fwdRequest, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, &fwdRequest{
			Method: r.string("method"), URI: r.string("uri"),
			ContentType: r.string("content type"), Body: r.bytes("body"),
		})
	}
	r.end()
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

func decodeResponses(b []byte, want int) ([]fwdResponse, error) {
	r := &wireReader{b: b}
	n := r.header(maxBatchWrites)
	if r.err == nil && n != want {
		r.fail(fmt.Sprintf("%d answers to %d writes", n, want))
	}
	out := make([]fwdResponse, n)
	for i := 0; i < n && r.err == nil; i++ {
		s := r.uvarint("status")
		if s < 100 || s > 999 {
			r.fail("status " + strconv.FormatUint(s, 10))
		}
		out[i] = fwdResponse{
			Status:      int(s),
			ContentType: r.string("content type"), RetryAfter: r.string("retry-after"),
			Index: r.string("index"), Served: r.string("served-by"),
		}
		switch r.byte("not-leader flag") {
		case 0:
		case 1:
			out[i].NotLeader = true
		default:
			r.fail("not-leader flag")
		}
		out[i].Body = r.bytes("body")
	}
	r.end()
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// statusText is used in errors about a batch the leader refused.
func statusText(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }
