package fileserver

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Reader yields a copy's bytes from an offset, checking every 64 KiB
// chunk's CRC-32C before yielding any byte of it. On a mismatch (or a
// short data file) Read returns an error wrapping ErrCorrupt and the copy
// is marked corrupt.
type Reader struct {
	store   *Store
	file    string
	version uint64
	f       *os.File
	fi      os.FileInfo
	m       meta
	next    int    // next chunk to load
	skip    int    // bytes to drop from the next chunk loaded
	buf     []byte // the current chunk's buffer
	pending []byte // verified bytes not yet yielded
	err     error
}

// Get opens version of file for reading from offset (0 ≤ offset ≤ size).
// A copy already marked corrupt is refused with ErrCorrupt.
func (s *Store) Get(file string, version uint64, offset int64) (*Reader, CopyInfo, error) {
	if _, err := ParseFileID(file); err != nil {
		return nil, CopyInfo{}, err
	}
	st := s.state(file)
	st.mu.Lock()
	m, err := s.readMeta(file, version)
	if err != nil {
		st.mu.Unlock()
		if errors.Is(err, ErrCorrupt) {
			return nil, CopyInfo{File: file, Version: version, Corrupt: true}, err
		}
		return nil, CopyInfo{}, err
	}
	f, err := os.Open(s.path(file, version, ".data"))
	st.mu.Unlock()
	info := m.info(file, version)
	if errors.Is(err, os.ErrNotExist) {
		s.markCorrupt(file, version, nil)
		return nil, info, fmt.Errorf("%w: %s version %d has no data file", ErrCorrupt, file, version)
	} else if err != nil {
		return nil, info, err
	}
	if m.Corrupt {
		_ = f.Close()
		return nil, info, fmt.Errorf("%w: %s version %d was found corrupt", ErrCorrupt, file, version)
	}
	if offset < 0 || offset > m.Size {
		_ = f.Close()
		return nil, info, fmt.Errorf("offset %d outside 0..%d", offset, m.Size)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, info, err
	}
	r := &Reader{store: s, file: file, version: version, f: f, fi: fi, m: m,
		next: int(offset / ChunkSize), skip: int(offset % ChunkSize)}
	if want := (m.Size + ChunkSize - 1) / ChunkSize; fi.Size() != m.Size || int64(len(m.CRCs)) != want {
		r.corrupt(fmt.Errorf("data file is %d bytes with %d CRCs, meta says %d bytes", fi.Size(), len(m.CRCs), m.Size))
		_ = f.Close()
		return nil, info, r.err
	}
	return r, info, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.load()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// load reads and checks the next chunk into pending, or sets err.
func (r *Reader) load() {
	if r.next >= len(r.m.CRCs) {
		r.err = io.EOF
		return
	}
	start := int64(r.next) * ChunkSize
	n := int(min(ChunkSize, r.m.Size-start))
	if r.buf == nil {
		r.buf = make([]byte, ChunkSize)
	}
	b := r.buf[:n]
	if _, err := r.f.ReadAt(b, start); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			r.corrupt(fmt.Errorf("chunk %d: data file too short", r.next))
		} else {
			r.err = err
		}
		return
	}
	if got := crc32.Checksum(b, castagnoli); got != r.m.CRCs[r.next] {
		r.corrupt(fmt.Errorf("chunk %d: CRC-32C %08x, want %08x", r.next, got, r.m.CRCs[r.next]))
		return
	}
	r.pending = b[min(r.skip, n):]
	r.skip = 0
	r.next++
}

// corrupt sets the error and marks the copy corrupt on disk.
func (r *Reader) corrupt(cause error) {
	r.err = fmt.Errorf("%w: %s version %d: %v", ErrCorrupt, r.file, r.version, cause)
	r.store.markCorrupt(r.file, r.version, r.fi)
}

// Close closes the data file.
func (r *Reader) Close() error { return r.f.Close() }

// Info describes the copy being read.
func (r *Reader) Info() CopyInfo { return r.m.info(r.file, r.version) }

// markCorrupt records in the copy's meta that it is corrupt, unless the
// copy was replaced since fi (the data file read) was opened. A nil fi
// stands for a data file found missing: marked only if still missing.
func (s *Store) markCorrupt(file string, version uint64, fi os.FileInfo) {
	st := s.state(file)
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, err := os.Stat(s.path(file, version, ".data"))
	switch {
	case fi == nil:
		if !errors.Is(err, os.ErrNotExist) {
			return
		}
	case err != nil || !os.SameFile(cur, fi):
		return
	}
	m, err := s.readMeta(file, version)
	if err != nil || m.Corrupt {
		return
	}
	m.Corrupt = true
	name, err := s.writeTemp(m)
	if err != nil {
		return
	}
	if err := os.Rename(name, s.path(file, version, ".meta")); err != nil {
		_ = os.Remove(name)
		return
	}
	_ = syncDir(s.fileDir(file))
}
