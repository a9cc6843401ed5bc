package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the package's one build of cmd/custodes.
var built struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// custodesBinary builds cmd/custodes once for the package's tests and
// returns its path. The build runs at a low CPU priority (nice) where it
// can: `go test ./...` runs other packages beside this one, whose
// in-process clusters lost their leader for seconds while a full build
// took both cores.
func custodesBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "custodes-e2e-bin-")
		if err != nil {
			built.err = err
			return
		}
		path := filepath.Join(dir, "custodes")
		args := []string{"go", "build", "-o", path, "../cmd/custodes"}
		if nice, err := exec.LookPath("nice"); err == nil {
			args = append([]string{nice, "-n", "10"}, args...)
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build: %v: %s", err, out)
			return
		}
		built.path = path
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// custodesBinaryAt puts the package's build at path (a copy), for a test
// that needs the binary where a script expects it.
func custodesBinaryAt(t *testing.T, path string) {
	t.Helper()
	src, err := os.Open(custodesBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
