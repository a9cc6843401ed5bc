package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A batch entry's body is binary, not JSON, so that the commands in it
// (each a type byte and a JSON body, as Encode makes them) are copied, not
// re-escaped: a uvarint count, then each command as a uvarint length and
// its bytes. Batches do not nest.

// BatchResponse is what Apply returns for a batch entry: each command's
// response, in order (a *Result or a business error).
type BatchResponse []any

// EncodeBatch makes one log entry of already encoded commands.
func EncodeBatch(cmds [][]byte) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, c := range cmds {
		n += binary.MaxVarintLen64 + len(c)
	}
	out := make([]byte, 0, n)
	out = append(out, byte(BatchRequestType))
	out = binary.AppendUvarint(out, uint64(len(cmds)))
	for _, c := range cmds {
		out = binary.AppendUvarint(out, uint64(len(c)))
		out = append(out, c...)
	}
	return out
}

// decodeBatch splits a batch body into its commands (sharing its memory).
func decodeBatch(body []byte) ([][]byte, error) {
	n, k := binary.Uvarint(body)
	if k <= 0 {
		return nil, errors.New("batch: bad count")
	}
	body = body[k:]
	if n == 0 || n > uint64(len(body)) {
		return nil, fmt.Errorf("batch: count %d for %d bytes", n, len(body))
	}
	cmds := make([][]byte, 0, n)
	for i := uint64(0); i < n; i++ {
		l, k := binary.Uvarint(body)
		if k <= 0 || l > uint64(len(body)-k) {
			return nil, fmt.Errorf("batch: command %d is cut short", i)
		}
		cmds = append(cmds, body[k:k+int(l):k+int(l)])
		body = body[k+int(l):]
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("batch: %d bytes after the last command", len(body))
	}
	return cmds, nil
}

// SplitBatch returns the commands of a batch entry (type byte included),
// or an error when entry is not a well-formed batch.
func SplitBatch(entry []byte) ([][]byte, error) {
	t, body, err := decode(entry)
	if err != nil {
		return nil, err
	}
	if t != BatchRequestType {
		return nil, fmt.Errorf("a %s entry, not a batch", t)
	}
	return decodeBatch(body)
}
