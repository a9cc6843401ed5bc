package cluster

import (
	"bytes"
	"compress/gzip"
	"errors"
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
	if err := checkArchive(bytes.NewReader(good)); err != nil {
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
			err := checkArchive(bytes.NewReader(c.in))
			if !errors.Is(err, fsm.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("checkArchive = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}
