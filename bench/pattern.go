package bench

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sync"
)

// The bytes of a benchmark file are a window into one fixed block of
// pseudo-random bytes, starting at an offset derived from the file's name:
// incompressible (no store can shrink them), generated without allocating
// a buffer per request (a 64 MiB write streams from the block), and
// checkable on read without remembering anything but the name.

const patternBlock = 1 << 20

var (
	blockOnce sync.Once
	block     []byte
)

func patternBytes() []byte {
	blockOnce.Do(func() {
		r := rand.New(rand.NewChaCha8([32]byte{'c', 'u', 's', 't', 'o', 'd', 'e', 's'}))
		block = make([]byte, patternBlock)
		for i := 0; i < len(block); i += 8 {
			v := r.Uint64()
			for j := range 8 {
				block[i+j] = byte(v >> (8 * j))
			}
		}
	})
	return block
}

func patternStart(name string) int {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int(h.Sum64() % patternBlock)
}

// Pattern is an io.Reader of a file's size bytes.
type Pattern struct {
	pos  int // in the block
	left int64
}

// NewPattern returns the bytes of the file called name, size long.
func NewPattern(name string, size int64) *Pattern {
	return &Pattern{pos: patternStart(name), left: size}
}

func (p *Pattern) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	blk := patternBytes()
	n := 0
	for n < len(b) {
		c := copy(b[n:], blk[p.pos:])
		n += c
		p.pos = (p.pos + c) % patternBlock
	}
	p.left -= int64(n)
	return n, nil
}

// Verifier is an io.Writer that checks what it is given against the file
// called name's pattern.
type Verifier struct {
	pos, n int64
	bad    int64 // offset of the first wrong byte, -1 if none
}

// NewVerifier checks the bytes of the file called name.
func NewVerifier(name string) *Verifier {
	return &Verifier{pos: int64(patternStart(name)), bad: -1}
}

func (v *Verifier) Write(b []byte) (int, error) {
	blk := patternBytes()
	for off := 0; off < len(b); {
		want := blk[v.pos:]
		if len(want) > len(b)-off {
			want = want[:len(b)-off]
		}
		if v.bad < 0 && !bytes.Equal(b[off:off+len(want)], want) {
			for i := range want {
				if b[off+i] != want[i] {
					v.bad = v.n + int64(i)
					break
				}
			}
		}
		off += len(want)
		v.n += int64(len(want))
		v.pos = (v.pos + int64(len(want))) % patternBlock
	}
	return len(b), nil
}

// Check reports whether exactly size right bytes were written.
func (v *Verifier) Check(size int64) error {
	if v.bad >= 0 {
		return fmt.Errorf("wrong byte at offset %d", v.bad)
	}
	if v.n != size {
		return fmt.Errorf("got %d bytes, want %d", v.n, size)
	}
	return nil
}
