package fileserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ChunkSize is the span of one CRC-32C in a copy.
const ChunkSize = 64 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CopyInfo describes one stored copy: one version of one file.
type CopyInfo struct {
	File    string `json:"file"`
	Version uint64 `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Fence   uint64 `json:"fence"`
	Corrupt bool   `json:"corrupt"`
	// Modified is the copy's mtime (its data file's, UTC; RFC 3339 in
	// JSON): set in the inventory only, so the leader can tell an orphan
	// from a write in flight (--orphan-grace).
	Modified time.Time `json:"modified,omitzero"`
}

// meta is the JSON of a .meta file.
type meta struct {
	Size    int64    `json:"size"`
	SHA256  string   `json:"sha256"`
	Fence   uint64   `json:"fence"`
	CRCs    []uint32 `json:"crc32c"`
	Corrupt bool     `json:"corrupt,omitempty"`
}

// ParseFileID accepts a lowercase UUID (8-4-4-4-12 hex digits) only.
func ParseFileID(s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil || u.String() != s {
		return "", fmt.Errorf("%w: file %q", ErrBadID, s)
	}
	return u.String(), nil
}

// ParseVersion accepts a positive decimal integer only.
func ParseVersion(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%w: version %q", ErrBadID, s)
	}
	return v, nil
}

// Store is the copies on disk under one directory. It is safe for
// concurrent use; writes and reads of one file are ordered by a per-file
// mutex held only around renames and opens, never while bytes stream.
type Store struct {
	dir string

	mu    sync.Mutex
	files map[string]*fileState
	// onFsync, set before the store serves (NewMetrics), times the
	// fsync of a copy's data.
	onFsync func(time.Duration)
}

// fileState is one file's lock and highest committed fence.
type fileState struct {
	mu     sync.Mutex
	loaded bool
	fence  uint64
}

// OpenStore opens (creating) the store under dir and empties dir/tmp.
func OpenStore(dir string) (*Store, error) {
	s := &Store{dir: dir, files: map[string]*fileState{}}
	if err := os.MkdirAll(s.copiesDir(), 0o700); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(s.tmpDir()); err != nil {
		return nil, fmt.Errorf("cleaning %s: %w", s.tmpDir(), err)
	}
	if err := os.MkdirAll(s.tmpDir(), 0o700); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) copiesDir() string            { return filepath.Join(s.dir, "copies") }
func (s *Store) tmpDir() string               { return filepath.Join(s.dir, "tmp") }
func (s *Store) fileDir(file string) string   { return filepath.Join(s.copiesDir(), file) }
func (s *Store) fencePath(file string) string { return filepath.Join(s.fileDir(file), "fence") }
func (s *Store) path(file string, version uint64, ext string) string {
	return filepath.Join(s.fileDir(file), strconv.FormatUint(version, 10)+ext)
}

// state returns file's state, its fence loaded. The caller holds st.mu.
func (s *Store) state(file string) *fileState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.files[file]
	if !ok {
		st = &fileState{}
		s.files[file] = st
	}
	return st
}

// checkFence refuses fence below file's highest; the caller holds st.mu.
func (s *Store) checkFence(st *fileState, file string, fence uint64) error {
	if !st.loaded {
		b, err := os.ReadFile(s.fencePath(file))
		switch {
		case err == nil:
			f, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			if perr != nil {
				return fmt.Errorf("fence file of %s: %w", file, perr)
			}
			st.fence = f
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
		st.loaded = true
	}
	if fence < st.fence {
		return fmt.Errorf("%w: %d is below %d for file %s", ErrStaleFence, fence, st.fence, file)
	}
	return nil
}

// hasher computes the SHA-256 and the chunk CRCs of what is written to it.
type hasher struct {
	sha  hash.Hash
	crcs []uint32
	crc  uint32
	fill int // bytes in the current chunk
}

func (h *hasher) Write(p []byte) (int, error) {
	n := len(p)
	h.sha.Write(p)
	for len(p) > 0 {
		k := min(len(p), ChunkSize-h.fill)
		h.crc = crc32.Update(h.crc, castagnoli, p[:k])
		h.fill += k
		p = p[k:]
		if h.fill == ChunkSize {
			h.crcs = append(h.crcs, h.crc)
			h.crc, h.fill = 0, 0
		}
	}
	return n, nil
}

func (h *hasher) finish() []uint32 {
	if h.fill > 0 {
		h.crcs = append(h.crcs, h.crc)
		h.crc, h.fill = 0, 0
	}
	return h.crcs
}

// Put stores r's bytes as version of file with fence. The bytes stream to
// a temporary file (hashed on the way), which is fsync'd and renamed into
// place. The fence is checked before and again, under the file's lock,
// just before the rename (ErrStaleFence). wantSHA, if not empty, is the
// SHA-256 (hex) the bytes must have (ErrSHA256Mismatch).
func (s *Store) Put(file string, version, fence uint64, r io.Reader, wantSHA string) (CopyInfo, error) {
	if _, err := ParseFileID(file); err != nil {
		return CopyInfo{}, err
	}
	if version == 0 {
		return CopyInfo{}, fmt.Errorf("%w: version 0", ErrBadID)
	}
	st := s.state(file)
	st.mu.Lock()
	err := s.checkFence(st, file, fence)
	st.mu.Unlock()
	if err != nil {
		return CopyInfo{}, err
	}
	data, err := os.CreateTemp(s.tmpDir(), "put-*.data")
	if err != nil {
		return CopyInfo{}, err
	}
	var metaName string
	done := false
	defer func() {
		if !done {
			_ = data.Close()
			_ = os.Remove(data.Name())
			if metaName != "" {
				_ = os.Remove(metaName)
			}
		}
	}()
	h := &hasher{sha: sha256.New()}
	size, err := io.Copy(io.MultiWriter(data, h), r)
	if err != nil {
		return CopyInfo{}, fmt.Errorf("receiving the bytes: %w", err)
	}
	syncStart := time.Now()
	if err := data.Sync(); err != nil {
		return CopyInfo{}, err
	}
	if s.onFsync != nil {
		s.onFsync(time.Since(syncStart))
	}
	if err := data.Close(); err != nil {
		return CopyInfo{}, err
	}
	m := meta{Size: size, SHA256: hex.EncodeToString(h.sha.Sum(nil)), Fence: fence, CRCs: h.finish()}
	if wantSHA != "" && !strings.EqualFold(wantSHA, m.SHA256) {
		return CopyInfo{}, fmt.Errorf("%w: got %s, want %s", ErrSHA256Mismatch, m.SHA256, wantSHA)
	}
	if metaName, err = s.writeTemp(m); err != nil {
		return CopyInfo{}, err
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	if err := s.checkFence(st, file, fence); err != nil {
		return CopyInfo{}, err
	}
	dir := s.fileDir(file)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return CopyInfo{}, err
		}
		if err := syncDir(s.copiesDir()); err != nil {
			return CopyInfo{}, err
		}
	}
	if err := os.Rename(data.Name(), s.path(file, version, ".data")); err != nil {
		return CopyInfo{}, err
	}
	if err := os.Rename(metaName, s.path(file, version, ".meta")); err != nil {
		return CopyInfo{}, err
	}
	done = true
	if fence > st.fence {
		if err := s.writeFence(file, fence); err != nil {
			return CopyInfo{}, err
		}
		st.fence = fence
	}
	if err := syncDir(dir); err != nil {
		return CopyInfo{}, err
	}
	return m.info(file, version), nil
}

func (m meta) info(file string, version uint64) CopyInfo {
	return CopyInfo{File: file, Version: version, Size: m.Size, SHA256: m.SHA256, Fence: m.Fence, Corrupt: m.Corrupt}
}

// writeTemp writes m to a fsync'd file under tmp and returns its name.
func (s *Store) writeTemp(m meta) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.tmpDir(), "put-*.meta")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// writeFence persists file's fence (the caller holds the file's lock).
func (s *Store) writeFence(file string, fence uint64) error {
	f, err := os.CreateTemp(s.tmpDir(), "fence-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.FormatUint(fence, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.fencePath(file))
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// readMeta reads one copy's meta (ErrNotFound when absent).
func (s *Store) readMeta(file string, version uint64) (meta, error) {
	var m meta
	b, err := os.ReadFile(s.path(file, version, ".meta"))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%w: %s version %d", ErrNotFound, file, version)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: meta of %s version %d: %v", ErrCorrupt, file, version, err)
	}
	return m, nil
}

// Stat returns one copy's description.
func (s *Store) Stat(file string, version uint64) (CopyInfo, error) {
	if _, err := ParseFileID(file); err != nil {
		return CopyInfo{}, err
	}
	m, err := s.readMeta(file, version)
	if err != nil {
		return CopyInfo{}, err
	}
	return m.info(file, version), nil
}

// Delete removes one copy; a missing one is no error.
func (s *Store) Delete(file string, version uint64) error {
	if _, err := ParseFileID(file); err != nil {
		return err
	}
	st := s.state(file)
	st.mu.Lock()
	defer st.mu.Unlock()
	return s.remove(file, strconv.FormatUint(version, 10))
}

// DeleteAll removes every copy of file. The file's fence stays: fences
// only grow.
func (s *Store) DeleteAll(file string) error {
	if _, err := ParseFileID(file); err != nil {
		return err
	}
	st := s.state(file)
	st.mu.Lock()
	defer st.mu.Unlock()
	ents, err := os.ReadDir(s.fileDir(file))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if v, ok := strings.CutSuffix(e.Name(), ".meta"); ok {
			errs = append(errs, s.remove(file, v))
		}
	}
	return errors.Join(errs...)
}

// remove deletes version v's meta, then its data, then syncs the dir.
func (s *Store) remove(file, v string) error {
	dir := s.fileDir(file)
	for _, ext := range []string{".meta", ".data"} {
		if err := os.Remove(filepath.Join(dir, v+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Inventory lists every copy, by file then version.
func (s *Store) Inventory() ([]CopyInfo, error) {
	dirs, err := os.ReadDir(s.copiesDir())
	if err != nil {
		return nil, err
	}
	out := []CopyInfo{}
	for _, d := range dirs {
		file, err := ParseFileID(d.Name())
		if err != nil || !d.IsDir() {
			continue
		}
		ents, err := os.ReadDir(s.fileDir(file))
		if err != nil {
			continue
		}
		for _, e := range ents {
			name, ok := strings.CutSuffix(e.Name(), ".meta")
			if !ok {
				continue
			}
			v, err := ParseVersion(name)
			if err != nil {
				continue
			}
			m, err := s.readMeta(file, v)
			var info CopyInfo
			if errors.Is(err, ErrCorrupt) {
				info = CopyInfo{File: file, Version: v, Corrupt: true}
			} else if err != nil {
				continue // deleted meanwhile
			} else {
				info = m.info(file, v)
			}
			info.Modified = s.modified(file, v)
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// modified is the mtime of a copy's data file (of its meta without one),
// UTC; zero when neither is there.
func (s *Store) modified(file string, version uint64) time.Time {
	for _, ext := range []string{".data", ".meta"} {
		if fi, err := os.Stat(s.path(file, version, ext)); err == nil {
			return fi.ModTime().UTC()
		}
	}
	return time.Time{}
}

// syncDir fsyncs a directory, so renames and removals in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
