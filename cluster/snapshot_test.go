package cluster

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/custodes/custodes/fsm"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A whole archive of an empty state passes; anything else is
// fsm.ErrInvalid naming what is wrong, and nothing is trusted before the
// last byte.
func TestCheckArchive(t *testing.T) {
	var body bytes.Buffer
	if err := fsm.New(fsm.DefaultConfig()).Export().Write(&body); err != nil {
		t.Fatal(err)
	}
	header := `{"format":"custodes-snapshot","version":1,"index":7,"node":"a"}` + "\n"
	good := gz(t, header+body.String())
	if err := checkArchive(bytes.NewReader(good), DefaultMaxSnapshotBytes); err != nil {
		t.Fatalf("a good archive: %v", err)
	}
	for _, c := range []struct {
		name, want string
		in         []byte
	}{
		{"not gzip", "gzip", []byte("plain text")},
		{"no header line", "no header line", gz(t, `{"format":"custodes-snapshot"`)},
		{"another format", "not a custodes snapshot archive", gz(t, `{"format":"tar"}`+"\n"+body.String())},
		{"another version", "archive version 2", gz(t, `{"format":"custodes-snapshot","version":2}`+"\n"+body.String())},
		{"header too long", "over 4096 bytes", gz(t, `{"format":"custodes-snapshot","version":1,"node":"`+strings.Repeat("x", 5000)+`"}`+"\n")},
		{"cut short", "", good[:len(good)-6]},
		{"not a state", "not a snapshot of this state", gz(t, header+`{"version":2,"tables":{"x":1}}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkArchive(bytes.NewReader(c.in), DefaultMaxSnapshotBytes)
			if !errors.Is(err, fsm.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("checkArchive = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}

// The state in an archive is held to the same limit as the archive, once
// decompressed: exactly the limit passes, a byte more is ErrTooLarge, and
// so is a gzip bomb (64 MiB of white space in under 128 KiB), refused as soon as
// the limit is passed rather than after it was all inflated.
func TestArchiveStateLimit(t *testing.T) {
	var body bytes.Buffer
	if err := fsm.New(fsm.DefaultConfig()).Export().Write(&body); err != nil {
		t.Fatal(err)
	}
	plain := `{"format":"custodes-snapshot","version":1,"index":7,"node":"a"}` + "\n" + body.String()
	good := gz(t, plain)
	if err := checkArchive(bytes.NewReader(good), int64(len(plain))); err != nil {
		t.Fatalf("a state of exactly the limit: %v", err)
	}
	if err := checkArchive(bytes.NewReader(good), int64(len(plain)-1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a state a byte over the limit: %v, want ErrTooLarge", err)
	}
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = io.WriteString(zw, `{"format":"custodes-snapshot","version":1,"index":7,"node":"a"}`+"\n"+`{"version":2,"tables":{"catalog":`)
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 64 {
		_, _ = zw.Write(spaces)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if bomb.Len() >= 128<<10 {
		t.Fatalf("the bomb is %d bytes compressed: not a bomb", bomb.Len())
	}
	err := checkArchive(bytes.NewReader(bomb.Bytes()), 1<<20)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over 1048576 bytes decompressed") {
		t.Fatalf("a %d-byte bomb: %v, want ErrTooLarge naming the limit", bomb.Len(), err)
	}
}
