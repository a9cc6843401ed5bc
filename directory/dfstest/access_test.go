package dfstest_test

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Shared read-only, a file can be read but not locked (403) nor updated;
// a revoke (mode none) is seen at once on every agent: a read right after
// the revoke's answer is 404 wherever it is asked, even on an agent that
// served the file a moment before.
func TestReadOnlySharingAndRevokingAreSeenEverywhere(t *testing.T) {
	clean(t)
	write(t, 0, "alice", "shared", []byte("for bob's eyes"))
	if a := share(t, 1, "alice", "shared", "bob", "read"); a.status != http.StatusOK {
		t.Fatalf("share: %s", a)
	}
	if r := call(t, 2, "bob", http.MethodGet, "/read?name=shared&owner=alice", nil, nil); r.status != http.StatusOK || string(r.body) != "for bob's eyes" {
		t.Fatalf("bob's read: %s", r)
	}
	if a, _ := lock(t, 2, "bob", "alice", "shared", "10s"); a.status != http.StatusForbidden {
		t.Fatalf("bob's lock of a read-only share: %s, want 403", a)
	}
	_, g := lock(t, 0, "alice", "alice", "shared", "10s")
	if u := update(t, 1, "bob", "alice", "shared", g.Token, []byte("bob was here")); u.status != http.StatusForbidden {
		t.Fatalf("bob's update of a read-only share with alice's token: %s, want 403", u)
	}
	if r := call(t, 0, "alice", http.MethodGet, "/read?name=shared", nil, nil); string(r.body) != "for bob's eyes" {
		t.Fatalf("the file changed: %s", r)
	}
	// Each agent in turn serves bob a read, then the revoke goes through
	// another agent, then that agent is asked first.
	for i := range cl.Agents {
		if a := share(t, (i+1)%3, "alice", "shared", "bob", "read"); a.status != http.StatusOK {
			t.Fatalf("share again: %s", a)
		}
		if r := call(t, i, "bob", http.MethodGet, "/read?name=shared&owner=alice", nil, nil); r.status != http.StatusOK {
			t.Fatalf("bob's read on agent %d before the revoke: %s", i+1, r)
		}
		if a := share(t, (i+2)%3, "alice", "shared", "bob", "none"); a.status != http.StatusOK {
			t.Fatalf("revoke: %s", a)
		}
		for _, j := range []int{i, (i + 1) % 3, (i + 2) % 3} {
			if r := call(t, j, "bob", http.MethodGet, "/read?name=shared&owner=alice", nil, nil); r.status != http.StatusNotFound {
				t.Fatalf("bob's read on agent %d right after the revoke through agent %d: %s, want 404", j+1, (i+2)%3+1, r)
			}
		}
	}
}

// One user never sees another's unshared files: not in /all, not by
// /read or /stat (404, exactly as for a file that does not exist), not
// under their own name.
func TestUnsharedFilesAreInvisible(t *testing.T) {
	clean(t)
	write(t, 0, "alice", "diary", []byte("private"))
	write(t, 1, "bob", "notes", []byte("bob's own"))
	write(t, 2, "alice", "for-carol", []byte("carol may read"))
	if a := share(t, 0, "alice", "for-carol", "carol", "read"); a.status != http.StatusOK {
		t.Fatalf("share: %s", a)
	}
	names := func(i int, user string) map[string]bool {
		a := call(t, i, user, http.MethodGet, "/all", nil, nil)
		if a.status != http.StatusOK {
			t.Fatalf("/all as %s: %s", user, a)
		}
		out := map[string]bool{}
		for _, f := range decode[struct {
			Files []struct{ Name, Owner string } `json:"files"`
		}](t, a).Files {
			out[f.Owner+"/"+f.Name] = true
		}
		return out
	}
	want := map[string][]string{
		"alice": {"alice/diary", "alice/for-carol"},
		"bob":   {"bob/notes"},
		"carol": {"alice/for-carol"},
		"dave":  {},
	}
	for i := range cl.Agents {
		for user, files := range want {
			got := slices.Sorted(maps.Keys(names(i, user)))
			if !slices.Equal(got, files) && !(len(got) == 0 && len(files) == 0) {
				t.Errorf("/all as %s on agent %d: %v, want %v", user, i+1, got, files)
			}
		}
		for _, user := range []string{"bob", "carol", "dave"} {
			for _, path := range []string{"/read?name=diary&owner=alice", "/stat?name=diary&owner=alice", "/read?name=diary", "/stat?name=diary"} {
				a := call(t, i, user, http.MethodGet, path, nil, nil)
				none := call(t, i, user, http.MethodGet, strings.Replace(path, "diary", "no-such-file", 1), nil, nil)
				if a.status != http.StatusNotFound || strings.Contains(string(a.body), "private") {
					t.Errorf("%s as %s on agent %d: %s, want 404", path, user, i+1, a)
				}
				if a.status != none.status {
					t.Errorf("%s as %s: %d, but %d for a file that does not exist", path, user, a.status, none.status)
				}
			}
		}
	}
}

// treeOf lists every path under dir (relative, directories marked with a
// trailing slash), at most limit of them.
func treeOf(t testing.TB, dir string, limit int) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) || os.IsPermission(err) {
				return nil // moved, or not ours
			}
			return err
		}
		if len(out) >= limit {
			return fs.SkipAll
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		out[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Names that are not keys (a ".." segment, a NUL, 2 KiB) are refused with
// 400 on every route that takes one, and nothing is created: the file
// servers' directories are as they were, and no file named from the
// client's string exists under the cluster's directory or beside it.
func TestBadNamesAreRefusedAndCreateNothing(t *testing.T) {
	clean(t)
	write(t, 0, "alice", "target", []byte("x")) // so that the share and update routes get past "no such file" if they do not check the name
	mark := make([]byte, 6)
	_, _ = rand.Read(mark)
	m := "escape" + hex.EncodeToString(mark)
	bad := []string{
		"../" + m,
		"../../../../" + m,
		"a/../../" + m,
		"..",
		m + "/..",
		m + "\x00.txt",
		"a\x00/../" + m,
		strings.Repeat(m, 2048/len(m)+1),
		"/" + m,
		m + "//x",
	}
	servers := map[string]map[string]bool{}
	for i := range cl.FileServers() {
		dir := cl.FileServer(i).Config().DataDir
		servers[dir] = treeOf(t, dir, 100000)
	}
	for k, name := range bad {
		i := k % 3
		for _, r := range []struct {
			method, path string
			body         []byte
		}{
			{http.MethodPost, "/write?name=" + q(name), []byte("payload")},
			{http.MethodGet, "/read?name=" + q(name), nil},
			{http.MethodGet, "/stat?name=" + q(name), nil},
			{http.MethodPost, "/lock?name=" + q(name), nil},
			{http.MethodPost, "/update?name=" + q(name), []byte("payload")},
			{http.MethodDelete, "/file?name=" + q(name), nil},
		} {
			if a := call(t, i, "alice", r.method, r.path, r.body, http.Header{"X-Lock-Token": {"t"}}); a.status != http.StatusBadRequest {
				t.Errorf("%s name %.80q on agent %d: %.200s, want 400", r.method, name, i+1, a)
			}
		}
		body := `{"name":` + jsonString(name) + `,"with":"bob","mode":"read"}`
		if a := call(t, i, "alice", http.MethodPost, "/share", []byte(body), http.Header{"Content-Type": {"application/json"}}); a.status != http.StatusBadRequest {
			t.Errorf("share of %.80q: %.200s, want 400", name, a)
		}
	}
	for dir, before := range servers {
		after := treeOf(t, dir, 100000)
		if !maps.Equal(before, after) {
			t.Errorf("%s changed: before %v, after %v", dir, slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
		}
	}
	// Beside the cluster's directory, too: a ".." climbs out of it.
	for _, dir := range []string{cl.Root(), filepath.Dir(cl.Root())} {
		for p := range treeOf(t, dir, 200000) {
			if strings.Contains(p, m) {
				t.Errorf("%s exists under %s", p, dir)
			}
		}
	}
	if a := call(t, 0, "alice", http.MethodGet, "/all", nil, nil); strings.Contains(string(a.body), m) {
		t.Errorf("/all lists a bad name: %s", a)
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteString(hex.EncodeToString([]byte{byte(r)}))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
