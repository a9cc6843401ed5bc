package fileserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodes/custodes/keyring"
)

func testKeys(t *testing.T) [][]byte {
	t.Helper()
	s, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testServer is one file server over httptest.
type testServer struct {
	*httptest.Server
	store *Store
	dir   string
	addr  string
}

func newTestServer(t *testing.T, keys [][]byte, id string) *testServer {
	t.Helper()
	store, _ := openStore(t)
	return newTestServerWith(t, HandlerConfig{ID: id, Store: store, Keys: keys, MaxCopySize: 4 * ChunkSize})
}

func newTestServerWith(t *testing.T, c HandlerConfig) *testServer {
	t.Helper()
	ts := httptest.NewServer(NewHandler(c))
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, store: c.Store, dir: c.Store.dir, addr: strings.TrimPrefix(ts.URL, "http://")}
}

func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestServerNeedsTheKey(t *testing.T) {
	keys := testKeys(t)
	ts := newTestServer(t, keys, "fs1")
	signer := keyring.NewSigner(keys)
	copyURL := ts.URL + "/v1/copies/" + fileA + "/1"

	// /alive is open.
	if resp := send(t, must(http.NewRequest("GET", ts.URL+"/alive", nil))); resp.StatusCode != 200 {
		t.Fatalf("/alive: %d", resp.StatusCode)
	}
	// Unsigned: 401 with {"code","error"} everywhere else.
	for _, c := range []struct{ method, url string }{
		{"PUT", copyURL}, {"GET", copyURL}, {"DELETE", copyURL}, {"GET", ts.URL + "/v1/inventory"},
		{"POST", copyURL + "/copy-to"}, {"DELETE", ts.URL + "/v1/copies/" + fileA},
	} {
		resp := send(t, must(http.NewRequest(c.method, c.url, strings.NewReader("x"))))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned %s %s: %d", c.method, c.url, resp.StatusCode)
		}
		if b, _ := io.ReadAll(resp.Body); !bytes.Contains(b, []byte(`"code":"unauthorized"`)) {
			t.Errorf("unsigned %s: body %s", c.method, b)
		}
	}
	// A streamed signature passes on PUT of a copy only.
	req := must(http.NewRequest("PUT", copyURL, strings.NewReader("hello")))
	signer.SignStreamed(req)
	if resp := send(t, req); resp.StatusCode != http.StatusCreated {
		t.Fatalf("streamed PUT: %d", resp.StatusCode)
	}
	for _, c := range []struct{ method, url string }{
		{"GET", copyURL}, {"DELETE", copyURL}, {"GET", ts.URL + "/v1/inventory"}, {"POST", copyURL + "/copy-to"},
		{"PUT", copyURL + "/copy-to"}, {"PUT", ts.URL + "/v1/copies/" + fileA},
	} {
		req := must(http.NewRequest(c.method, c.url, nil))
		signer.SignStreamed(req)
		if resp := send(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("streamed %s %s: %d, want 401", c.method, c.url, resp.StatusCode)
		}
	}
	// A normal signature works on the other routes.
	req = must(http.NewRequest("GET", copyURL, nil))
	signer.SignBody(req, nil)
	resp := send(t, req)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "hello" {
		t.Fatalf("signed GET: %d %q", resp.StatusCode, b)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestClientRoundTrip(t *testing.T) {
	keys := testKeys(t)
	a, b := newTestServer(t, keys, "fs1"), newTestServer(t, keys, "fs2")
	c := &Client{Signer: keyring.NewSigner(keys)}
	ctx := context.Background()
	data := randomBytes(t, 2*ChunkSize+100)
	sum := sha256.Sum256(data)

	if id, err := c.Alive(ctx, a.addr); err != nil || id != "fs1" {
		t.Fatalf("alive: %q %v", id, err)
	}
	info, err := c.Put(ctx, a.addr, fileA, 1, 0, bytes.NewReader(data))
	if err != nil || info.SHA256 != hex.EncodeToString(sum[:]) || info.Size != int64(len(data)) {
		t.Fatalf("put: %+v %v", info, err)
	}
	// Unknown length (chunked) works too.
	if _, err := c.Put(ctx, a.addr, fileA, 2, 1, io.MultiReader(bytes.NewReader(data[:10]), bytes.NewReader(data[10:]))); err != nil {
		t.Fatalf("chunked put: %v", err)
	}
	if _, err := c.Put(ctx, a.addr, fileA, 3, 0, strings.NewReader("")); !errors.Is(err, ErrStaleFence) {
		t.Fatalf("stale put: %v", err)
	}
	if _, err := c.Put(ctx, a.addr, fileA, 3, 1, bytes.NewReader(make([]byte, 4*ChunkSize+1))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large put: %v", err)
	}
	// Whole and from an offset (a 206).
	for _, off := range []int64{0, 5, ChunkSize, int64(len(data)) - 1} {
		rc, info, err := c.Get(ctx, a.addr, fileA, 1, off)
		if err != nil {
			t.Fatalf("get from %d: %v", off, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data[off:]) || info.Size != int64(len(data)) || info.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("get from %d: %d bytes, info %+v, err %v", off, len(got), info, err)
		}
	}
	if _, _, err := c.Get(ctx, a.addr, fileA, 9, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if _, _, err := c.Get(ctx, a.addr, "not-a-uuid", 1, 0); !errors.Is(err, ErrBadID) {
		t.Fatalf("get bad id: %v", err)
	}
	// copy-to: b gets the same bytes, with the fence.
	got, err := c.CopyTo(ctx, a.addr, fileA, 2, b.addr)
	if err != nil || got.SHA256 != hex.EncodeToString(sum[:]) || got.Fence != 1 {
		t.Fatalf("copy-to: %+v %v", got, err)
	}
	inv, err := c.Inventory(ctx, b.addr)
	if err != nil || inv.ID != "fs2" || len(inv.Copies) != 1 || inv.Copies[0].Version != 2 {
		t.Fatalf("inventory of b: %+v %v", inv, err)
	}
	if _, err := c.CopyTo(ctx, a.addr, fileA, 9, b.addr); !errors.Is(err, ErrNotFound) {
		t.Fatalf("copy-to unknown: %v", err)
	}
	if err := c.Delete(ctx, a.addr, fileA, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAll(ctx, a.addr, fileA); err != nil {
		t.Fatal(err)
	}
	if inv, _ := c.Inventory(ctx, a.addr); len(inv.Copies) != 0 {
		t.Fatalf("inventory after delete: %+v", inv)
	}
}

func TestServerRanges(t *testing.T) {
	ts := newTestServer(t, nil, "fs1")
	data := randomBytes(t, 1000)
	if _, err := ts.store.Put(fileA, 1, 0, bytes.NewReader(data), ""); err != nil {
		t.Fatal(err)
	}
	url := ts.URL + "/v1/copies/" + fileA + "/1"
	for _, c := range []struct {
		rng        string
		status     int
		from, to   int // body = data[from:to]
		contentRng string
	}{
		{"", 200, 0, 1000, ""},
		{"bytes=0-9", 206, 0, 10, "bytes 0-9/1000"},
		{"bytes=990-", 206, 990, 1000, "bytes 990-999/1000"},
		{"bytes=-10", 206, 990, 1000, "bytes 990-999/1000"},
		{"bytes=500-5000", 206, 500, 1000, "bytes 500-999/1000"},
		{"bytes=0-1,5-6", 200, 0, 1000, ""}, // several ranges: served whole
		{"bytes=1000-", 416, 0, 0, "bytes */1000"},
	} {
		req := must(http.NewRequest("GET", url, nil))
		if c.rng != "" {
			req.Header.Set("Range", c.rng)
		}
		resp := send(t, req)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Range") != c.contentRng {
			t.Errorf("%q: %d %q", c.rng, resp.StatusCode, resp.Header.Get("Content-Range"))
			continue
		}
		if c.status != 416 && (!bytes.Equal(body, data[c.from:c.to]) || resp.Header.Get("Accept-Ranges") != "bytes" ||
			resp.Header.Get(HeaderVersion) != "1" || !strings.HasPrefix(resp.Header.Get("ETag"), `"`)) {
			t.Errorf("%q: body %d bytes, headers %v", c.rng, len(body), resp.Header)
		}
	}
	for _, bad := range []string{"/v1/copies/" + strings.ToUpper(fileA) + "/1", "/v1/copies/" + fileA + "/0", "/v1/copies/" + fileA + "/x"} {
		if resp := send(t, must(http.NewRequest("GET", ts.URL+bad, nil))); resp.StatusCode != 400 {
			t.Errorf("GET %s: %d, want 400", bad, resp.StatusCode)
		}
	}
	req := must(http.NewRequest("PUT", url+"?fence=x", strings.NewReader("x")))
	if resp := send(t, req); resp.StatusCode != 400 {
		t.Errorf("bad fence: %d", resp.StatusCode)
	}
}

// A copy corrupt in a later chunk: the client gets an error, never a
// body that looks complete; corrupt in the first chunk: an error answer.
func TestServerCorruptCopy(t *testing.T) {
	keys := testKeys(t)
	ts := newTestServer(t, keys, "fs1")
	c := &Client{Signer: keyring.NewSigner(keys)}
	ctx := context.Background()
	data := randomBytes(t, 3*ChunkSize)
	for v := uint64(1); v <= 2; v++ {
		if _, err := c.Put(ctx, ts.addr, fileA, v, 0, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	flip := func(v string, at int64) {
		f, err := os.OpenFile(filepath.Join(ts.dir, "copies", fileA, v+".data"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte{data[at] ^ 1}, at); err != nil {
			t.Fatal(err)
		}
	}
	flip("1", 2*ChunkSize+3)
	rc, _, err := c.Get(ctx, ts.addr, fileA, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err == nil {
		t.Fatalf("read a corrupt copy without error (%d bytes)", len(got))
	}
	if len(got) >= len(data) {
		t.Fatalf("got %d bytes of a corrupt copy", len(got))
	}
	flip("2", 1)
	if _, _, err := c.Get(ctx, ts.addr, fileA, 2, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("first chunk corrupt: %v", err)
	}
	// Both are reported corrupt, and copy-to refuses them.
	inv, err := c.Inventory(ctx, ts.addr)
	if err != nil || len(inv.Copies) != 2 || !inv.Copies[0].Corrupt || !inv.Copies[1].Corrupt {
		t.Fatalf("inventory %+v %v", inv, err)
	}
	if _, err := c.CopyTo(ctx, ts.addr, fileA, 1, ts.addr); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("copy-to of a corrupt copy: %v", err)
	}
}
