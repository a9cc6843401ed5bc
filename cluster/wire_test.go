package cluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/custodes/custodes/fsm"
)

func TestWireCommandsRoundTrip(t *testing.T) {
	cmds := [][]byte{{0, '{', '}'}, {}, bytes.Repeat([]byte{1}, 300)}
	got, err := decodeCommands(encodeCommands(cmds))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cmds) {
		t.Fatalf("%d commands, want %d", len(got), len(cmds))
	}
	for i := range cmds {
		if !bytes.Equal(got[i], cmds[i]) {
			t.Errorf("command %d = %q, want %q", i, got[i], cmds[i])
		}
	}
}

func TestWireCommandsRefusesBadFraming(t *testing.T) {
	good := encodeCommands([][]byte{[]byte("abc")})
	tooMany := binary.AppendUvarint(nil, maxWireCommands+1)
	for range maxWireCommands + 1 {
		tooMany = binary.AppendUvarint(tooMany, 0)
	}
	for name, body := range map[string][]byte{
		"empty":          nil,
		"count 0":        {0},
		"too many":       tooMany,
		"short":          good[:len(good)-1],
		"trailing":       append(append([]byte{}, good...), 9),
		"huge length":    append(binary.AppendUvarint([]byte{1}, 1<<62), 'a'),
		"bad varint":     bytes.Repeat([]byte{0xff}, 11),
		"count over len": {5, 0},
	} {
		if _, err := decodeCommands(body); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWireResultsRoundTrip(t *testing.T) {
	in := []wireResult{{Index: 7, Result: []byte(`{"id":"a"}`)}, {Index: 8, Code: "not_found", Message: "instance x: not found"}}
	out, err := decodeResults(encodeResults(in), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i].Index != in[i].Index || out[i].Code != in[i].Code || out[i].Message != in[i].Message || !bytes.Equal(out[i].Result, in[i].Result) {
			t.Errorf("result %d = %+v, want %+v", i, out[i], in[i])
		}
	}
	if _, err := decodeResults(encodeResults(in), 3); err == nil {
		t.Error("a count that does not match the commands sent was accepted")
	}
}

// Errors cross the wire as codes and come back matching the same sentinel
// and reading the same.
func TestWireErrorsKeepTheirIdentity(t *testing.T) {
	for _, err := range []error{
		fsm.ErrNotFound, fsm.ErrConflict, ErrNotLeader, ErrNoLeader, ErrLeadershipLost, ErrTimeout,
		ErrShutdown, ErrUnsafe, ErrUnknownPeer, ErrTooLarge,
		fmt.Errorf("%w: removing x leaves 1 voter", ErrUnsafe),
		fmt.Errorf("%w: name is invalid", fsm.ErrInvalid),
	} {
		back := remoteError(errorCode(err), err.Error())
		if !errors.Is(back, errors.Unwrap(err)) && !errors.Is(back, err) {
			t.Errorf("%v came back as %v, matching another sentinel", err, back)
		}
		if back.Error() != err.Error() {
			t.Errorf("%q came back reading %q", err, back)
		}
	}
	if back := remoteError("something new", "boom"); back == nil || errors.Is(back, ErrNotLeader) {
		t.Errorf("an unknown code came back as %v", back)
	}
}
