package bench

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Sink is the plain file writer of the direct baseline (`custodes bench
// sink`): PUT /NAME writes the body to a temporary file in Dir, fsyncs it
// and renames it to NAME (201); GET /NAME reads it (200). No checksums,
// no metadata, no replication: what this machine's disk and loopback allow
// one writer. Names are restricted to [A-Za-z0-9._-] (400 otherwise).
type Sink struct{ Dir string }

func validSinkName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 200 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if !validSinkName(name) {
		http.Error(w, "bad name", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		if err := s.write(name, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
		f, err := os.Open(filepath.Join(s.Dir, name))
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, r, "", fi.ModTime(), f)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s Sink) write(name string, body io.Reader) error {
	f, err := os.CreateTemp(s.Dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, filepath.Join(s.Dir, name))
}
