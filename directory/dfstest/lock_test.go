package dfstest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/fileserver"
	"github.com/custodes/custodes/keyring"
	"github.com/google/uuid"
)

// Twenty clients race for one lock through every agent at once: exactly
// one gets it (200, with a token), the nineteen others 409.
func TestTwentyClientsRaceForOneLock(t *testing.T) {
	clean(t)
	write(t, 0, "alice", "contended", []byte("x"))
	for _, u := range []string{"bob", "carol"} {
		if a := call(t, 0, "alice", http.MethodPost, "/share", []byte(`{"name":"contended","with":"`+u+`","mode":"write"}`), http.Header{"Content-Type": {"application/json"}}); a.status != http.StatusOK {
			t.Fatalf("share with %s: %s", u, a)
		}
	}
	who := []string{"alice", "bob", "carol"}
	const n = 20
	statuses := make([]int, n)
	grants := make([]grant, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, g := lock(t, k%3, who[k%3], "alice", "contended", "30s")
			statuses[k], grants[k] = a.status, g
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for k, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
			if grants[k].Token == "" || grants[k].Fence == 0 {
				t.Errorf("client %d won without a token or fence: %+v", k, grants[k])
			}
		case http.StatusConflict:
		default:
			t.Errorf("client %d: %d, want 200 or 409", k, s)
		}
	}
	if won != 1 {
		t.Fatalf("%d clients got the lock (statuses %v): want exactly one", won, statuses)
	}
}

func share(t testing.TB, i int, owner, name, with, mode string) answer {
	t.Helper()
	return call(t, i, owner, http.MethodPost, "/share", []byte(`{"name":"`+name+`","with":"`+with+`","mode":"`+mode+`"}`), http.Header{"Content-Type": {"application/json"}})
}

func update(t testing.TB, i int, user, owner, name, token string, b []byte) answer {
	t.Helper()
	return call(t, i, user, http.MethodPost, "/update?name="+q(name)+"&owner="+q(owner), b, http.Header{"X-Lock-Token": {token}})
}

// lockWithin polls for owner's name's lock as user until it is granted.
func lockWithin(t testing.TB, i int, user, owner, name, ttl string, within time.Duration) grant {
	t.Helper()
	var g grant
	var last answer
	agenttest.WaitFor(t, user+" to get the lock", within, func() bool {
		last, g = lock(t, i, user, owner, name, ttl)
		if last.status != http.StatusOK && last.status != http.StatusConflict {
			t.Fatalf("lock as %s: %s", user, last)
		}
		return last.status == http.StatusOK
	})
	return g
}

// A lock that expires lets the next holder in with a higher fence, and
// the old holder's update is then refused with 423.
func TestAnExpiredLockPassesToTheNextHolder(t *testing.T) {
	clean(t)
	write(t, 0, "alice", "expiring", []byte("v1"))
	if a := share(t, 0, "alice", "expiring", "bob", "write"); a.status != http.StatusOK {
		t.Fatalf("share: %s", a)
	}
	a, ga := lock(t, 1, "alice", "alice", "expiring", "1s")
	if a.status != http.StatusOK {
		t.Fatalf("alice's lock: %s", a)
	}
	gb := lockWithin(t, 2, "bob", "alice", "expiring", "30s", 10*time.Second)
	if gb.Fence <= ga.Fence {
		t.Fatalf("bob's fence %d is not above alice's %d", gb.Fence, ga.Fence)
	}
	if u := update(t, 0, "alice", "alice", "expiring", ga.Token, []byte("alice late")); u.status != http.StatusLocked {
		t.Fatalf("alice's update with her expired lock: %s, want 423", u)
	}
	if u := update(t, 1, "bob", "alice", "expiring", gb.Token, []byte("bob's")); u.status != http.StatusOK {
		t.Fatalf("bob's update: %s", u)
	}
	r := call(t, 2, "alice", http.MethodGet, "/read?name=expiring", nil, nil)
	if r.status != http.StatusOK || string(r.body) != "bob's" || r.header.Get("X-Custodes-Version") != "2" {
		t.Fatalf("read: %s (version %s), want bob's bytes as version 2", r, r.header.Get("X-Custodes-Version"))
	}
}

// tmpPuts counts the copies being received by the file servers.
func tmpPuts(t testing.TB) int {
	t.Helper()
	n := 0
	for i := range cl.FileServers() {
		ents, err := os.ReadDir(filepath.Join(cl.FileServer(i).Config().DataDir, "tmp"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if filepath.Ext(e.Name()) == ".data" {
				n++
			}
		}
	}
	return n
}

// The fence at the storage: alice's update starts under her lock and
// stalls mid-body; her lock expires, bob locks and updates; then the
// rest of alice's body arrives. The file servers refuse her late copy
// (its fence is below bob's), so her update fails, nothing of hers is
// committed or stored, and the file reads back as bob's version.
func TestAPausedHolderIsFencedOffAtTheFileServers(t *testing.T) {
	clean(t)
	w := write(t, 0, "alice", "fenced", []byte("v1"))
	if a := share(t, 0, "alice", "fenced", "bob", "write"); a.status != http.StatusOK {
		t.Fatalf("share: %s", a)
	}
	_, ga := lock(t, 0, "alice", "alice", "fenced", "1s")
	if ga.Token == "" {
		t.Fatal("alice got no lock")
	}

	aliceBytes := randomBytes(2<<20, 3)
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequestWithContext(withTimeout(t, time.Minute), http.MethodPost, cl.URL(0)+"/update?name=fenced", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokens["alice"])
	req.Header.Set("X-Lock-Token", ga.Token)
	type result struct {
		a   answer
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{a: answer{status: resp.StatusCode, body: b}}
	}()
	half := len(aliceBytes) / 2
	if _, err := pw.Write(aliceBytes[:half]); err != nil {
		t.Fatal(err)
	}
	// Her update passed the lock check once both replicas receive it.
	agenttest.WaitFor(t, "alice's copies to be under way on both replicas", 10*time.Second, func() bool {
		select {
		case res := <-done:
			t.Fatalf("alice's update ended before the file servers received it: %v %s", res.err, res.a)
		default:
		}
		return tmpPuts(t) == 2
	})

	gb := lockWithin(t, 1, "bob", "alice", "fenced", "30s", 10*time.Second)
	bobBytes := []byte("bob's version")
	if u := update(t, 2, "bob", "alice", "fenced", gb.Token, bobBytes); u.status != http.StatusOK {
		t.Fatalf("bob's update: %s", u)
	}

	if _, err := pw.Write(aliceBytes[half:]); err != nil {
		t.Logf("the rest of alice's body: %v", err)
	}
	pw.Close()
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("alice's update did not answer within 30s")
	}
	switch {
	case res.err != nil:
		t.Fatalf("alice's late update got no answer: %v", res.err)
	case res.a.status != http.StatusLocked:
		// The file servers refused her fence: the lock is not hers.
		t.Fatalf("alice's late update: %s, want 423", res.a)
	}
	t.Logf("alice's late update: %s", res.a)

	st := stat(t, 1, "alice", "alice", "fenced")
	if st.Version != 2 || st.SHA256 != hexSum(bobBytes) || st.ID != w.ID {
		t.Fatalf("stat %+v: want bob's bytes as version 2", st)
	}
	for i := range cl.Agents {
		r := call(t, i, "bob", http.MethodGet, "/read?name=fenced&owner=alice", nil, nil)
		if r.status != http.StatusOK || !bytes.Equal(r.body, bobBytes) || r.header.Get("X-Custodes-Version") != "2" {
			t.Fatalf("read on agent %d: %d, %d bytes, version %s; want bob's bytes as version 2", i+1, r.status, len(r.body), r.header.Get("X-Custodes-Version"))
		}
	}
	for _, id := range st.Replicas {
		info, err := cl.FileServer(cl.FileServerIndex(id)).Store().Stat(w.ID, 2)
		if err != nil || info.SHA256 != hexSum(bobBytes) || info.Fence != gb.Fence {
			t.Fatalf("%s's copy of version 2: %+v %v; want bob's bytes with fence %d", id, info, err, gb.Fence)
		}
	}
	agenttest.WaitFor(t, "no copy left under way", 5*time.Second, func() bool { return tmpPuts(t) == 0 })
}

// Directly against a running file server: a copy whose fence is below
// the highest the server has seen for the file is refused, whatever its
// version, and the stored copy is untouched.
func TestAFileServerRefusesAStaleFence(t *testing.T) {
	healthy(t)
	c := &fileserver.Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Signer: keyring.NewSigner(keys)}
	addr := cl.FileServerAddr(0)
	ctx := context.Background()
	file := uuid.NewString()
	t.Cleanup(func() { _ = c.DeleteAll(context.Background(), addr, file) })
	if _, err := c.Put(ctx, addr, file, 1, 5, bytes.NewReader([]byte("fenced at 5"))); err != nil {
		t.Fatalf("put with fence 5: %v", err)
	}
	for _, tc := range []struct {
		version, fence uint64
	}{{1, 4}, {2, 4}, {2, 0}} {
		_, err := c.Put(ctx, addr, file, tc.version, tc.fence, bytes.NewReader([]byte("stale")))
		var fe *fileserver.Error
		if !errors.Is(err, fileserver.ErrStaleFence) || !errors.As(err, &fe) || fe.Status != http.StatusConflict {
			t.Errorf("put of version %d with fence %d after 5: %v, want 409 stale_fence", tc.version, tc.fence, err)
		}
	}
	if _, err := c.Put(ctx, addr, file, 2, 5, bytes.NewReader([]byte("same fence"))); err != nil {
		t.Errorf("put with the same fence: %v", err)
	}
	rc, info, err := c.Get(ctx, addr, file, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "fenced at 5" || info.Fence != 5 {
		t.Fatalf("version 1 now: %q fence %d (%v)", b, info.Fence, err)
	}
	if _, _, err := c.Get(ctx, addr, file, 3, 0); !errors.Is(err, fileserver.ErrNotFound) {
		t.Fatalf("version 3 was stored: %v", err)
	}
}
