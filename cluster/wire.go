package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/custodes/custodes/fsm"
)

// The internal protocol's apply call carries typed commands, each encoded
// as fsm.Encode makes it (type byte + JSON), never a log entry: a batch is
// refused, and the leader decodes, validates, checks and stamps every
// command itself before it reaches its grouper. The body is a uvarint
// count, then each command as a uvarint length and its bytes; the answer
// is a uvarint count, then per command: the entry's index, an error code
// ("" when it succeeded), an error message and the result's JSON.

// Limits of one apply call: the grouper makes groups of at most
// maxBatchCommands and about maxBatchBytes, and one command may be as large
// as a client's body (1 MiB) plus what stamping adds.
const (
	maxWireCommands = maxBatchCommands
	maxWireBytes    = 4 << 20
)

// wireResult is one command's answer on the apply call.
type wireResult struct {
	Index   uint64
	Code    string
	Message string
	Result  []byte
}

func appendBytes[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeCommands frames already encoded commands for the apply call.
func encodeCommands(cmds [][]byte) []byte {
	n := binary.MaxVarintLen64
	for _, c := range cmds {
		n += binary.MaxVarintLen64 + len(c)
	}
	b := binary.AppendUvarint(make([]byte, 0, n), uint64(len(cmds)))
	for _, c := range cmds {
		b = appendBytes(b, c)
	}
	return b
}

// wireReader reads uvarint-framed fields, remembering the first error.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = fmt.Errorf("%s: bad or missing number", what)
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *wireReader) bytes(what string) []byte {
	l := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if l > uint64(len(r.b)) {
		r.err = fmt.Errorf("%s: %d bytes announced, %d left", what, l, len(r.b))
		return nil
	}
	out := r.b[:l:l]
	r.b = r.b[l:]
	return out
}

func (r *wireReader) count(what string, max int) int {
	n := r.uvarint(what)
	if r.err == nil && (n == 0 || n > uint64(max) || n > uint64(len(r.b))) {
		r.err = fmt.Errorf("%s: %d is not between 1 and %d", what, n, max)
	}
	return int(n)
}

func (r *wireReader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the last field", len(r.b))
	}
	return r.err
}

// decodeCommands splits an apply call's body into its commands (sharing
// its memory). Each still has to pass fsm.DecodeCommand.
func decodeCommands(body []byte) ([][]byte, error) {
	r := &wireReader{b: body}
	n := r.count("command count", maxWireCommands)
	cmds := make([][]byte, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		cmds = append(cmds, r.bytes(fmt.Sprintf("command %d", i)))
	}
	return cmds, r.end()
}

func encodeResults(res []wireResult) []byte {
	n := binary.MaxVarintLen64
	for _, r := range res {
		n += 4*binary.MaxVarintLen64 + len(r.Code) + len(r.Message) + len(r.Result)
	}
	b := binary.AppendUvarint(make([]byte, 0, n), uint64(len(res)))
	for _, r := range res {
		b = binary.AppendUvarint(b, r.Index)
		b = appendBytes(b, r.Code)
		b = appendBytes(b, r.Message)
		b = appendBytes(b, r.Result)
	}
	return b
}

func decodeResults(body []byte, want int) ([]wireResult, error) {
	r := &wireReader{b: body}
	n := r.count("result count", maxWireCommands)
	if r.err == nil && n != want {
		return nil, fmt.Errorf("%d results for %d commands", n, want)
	}
	out := make([]wireResult, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, wireResult{
			Index: r.uvarint("index"), Code: string(r.bytes("code")),
			Message: string(r.bytes("message")), Result: r.bytes("result"),
		})
	}
	return out, r.end()
}

// Error codes on the wire: the business errors' own names (fsm.ErrorName),
// then the cluster's sentinels and validation.
const (
	codeInvalid   = "invalid"
	codeNotLeader = "not_leader"
	codeNoLeader  = "no_leader"
	codeLost      = "leadership_lost"
	codeTimeout   = "timeout"
	codeShutdown  = "shutdown"
	codeUnknown   = "unknown_peer"
	codeUnsafe    = "unsafe"
	codeTooLarge  = "too_large"
	codeError     = "error"
)

var codeErrors = map[string]error{
	codeNotLeader: ErrNotLeader, codeNoLeader: ErrNoLeader, codeLost: ErrLeadershipLost,
	codeTimeout: ErrTimeout, codeShutdown: ErrShutdown, codeUnknown: ErrUnknownPeer, codeUnsafe: ErrUnsafe,
	codeInvalid: fsm.ErrInvalid, codeTooLarge: ErrTooLarge,
}

// errorCode names err for the wire.
func errorCode(err error) string {
	if name := fsm.ErrorName(err); name != "" {
		return name
	}
	for code, e := range codeErrors {
		if errors.Is(err, e) {
			return code
		}
	}
	return codeError
}

// remoteError turns a code and message from the wire back into an error
// that matches the same sentinel with errors.Is and reads as the original.
func remoteError(code, msg string) error {
	e := fsm.ErrorByName(code)
	if e == nil {
		e = codeErrors[code]
	}
	if e == nil {
		return fmt.Errorf("leader: %s", msg)
	}
	if msg == "" || msg == e.Error() {
		return e
	}
	return &wrapped{msg: msg, err: e}
}

// wrapped reads as msg and matches err.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
