package locks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const file = "00000001-0000-4000-8000-000000000000"

func hash(c string) string { return strings.Repeat(c, 64) }

func ask(h string, at time.Time) *LockRequest {
	return &LockRequest{File: file, Holder: "bob", TokenHash: hash(h), TTL: 10_000, Time: at}
}

func TestLockGrantRefuseExpire(t *testing.T) {
	tb := New()
	res, err := tb.Lock(1, ask("a", t0))
	if err != nil || !res.Granted || res.Lock.Fence != 1 || !res.Lock.Expires.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("first: %+v %v", res, err)
	}
	// Held: refused, and the result names the holder's lock.
	res, err = tb.Lock(2, ask("b", t0.Add(9*time.Second)))
	if err != nil || res.Granted || res.Lock.TokenHash != hash("a") || res.Lock.Fence != 1 {
		t.Fatalf("refusal: %+v %v", res, err)
	}
	// The holder itself is refused too: a lock is renewed by a new grant only.
	if res, _ := tb.Lock(3, ask("a", t0.Add(time.Second))); res.Granted {
		t.Fatal("granted twice")
	}
	// Expires == Time: free.
	res, _ = tb.Lock(4, ask("b", t0.Add(10*time.Second)))
	if !res.Granted || res.Lock.Fence != 2 || res.Lock.TokenHash != hash("b") {
		t.Fatalf("after expiry: %+v", res)
	}
}

func TestHeld(t *testing.T) {
	tb := New()
	_, _ = tb.Lock(1, ask("a", t0))
	cases := []struct {
		name  string
		hash  string
		fence uint64
		at    time.Time
		want  error
	}{
		{"holder", hash("a"), 1, t0.Add(time.Second), nil},
		{"other hash", hash("b"), 1, t0, ErrLockNotHeld},
		{"other fence", hash("a"), 2, t0, ErrLockNotHeld},
		{"expired", hash("a"), 1, t0.Add(10 * time.Second), ErrLockNotHeld},
	}
	for _, tc := range cases {
		if err := tb.Held(file, tc.hash, tc.fence, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Precheck cannot judge expiry.
	if err := tb.CheckHeld(file, hash("a"), 1); err != nil {
		t.Fatal(err)
	}
	if err := tb.CheckHeld("00000002-0000-4000-8000-000000000000", hash("a"), 1); !errors.Is(err, ErrLockNotHeld) {
		t.Fatal(err)
	}
}

func TestUnlockKeepsTheFence(t *testing.T) {
	tb := New()
	_, _ = tb.Lock(1, ask("a", t0))
	snap := tb.Clone()
	if _, err := tb.Unlock(2, &UnlockRequest{File: file, TokenHash: hash("b")}); !errors.Is(err, ErrLockNotHeld) {
		t.Fatalf("other hash: %v", err)
	}
	res, err := tb.Unlock(2, &UnlockRequest{File: file, TokenHash: hash("a")})
	if err != nil || res.Lock.Fence != 1 || res.Granted {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := tb.Unlock(3, &UnlockRequest{File: file, TokenHash: hash("a")}); !errors.Is(err, ErrLockNotHeld) {
		t.Fatalf("twice: %v", err)
	}
	if _, ok := snap.Get(file); !ok {
		t.Fatal("clone lost the lock")
	}
	if res, _ := tb.Lock(4, ask("c", t0)); res.Lock.Fence != 2 {
		t.Fatalf("fence after unlock %d", res.Lock.Fence)
	}
	// An expired lock may be removed by its holder.
	if _, err := tb.Unlock(5, &UnlockRequest{File: file, TokenHash: hash("c")}); err != nil {
		t.Fatal(err)
	}
	tb.Drop(file)
	if tb.Fence(file) != 0 || tb.Len() != 0 || tb.Fences() != 0 {
		t.Fatal("drop kept state")
	}
}

func TestSection(t *testing.T) {
	tb := New()
	_, _ = tb.Lock(1, ask("a", t0))
	_, _ = tb.Unlock(2, &UnlockRequest{File: file, TokenHash: hash("a")})
	_, _ = tb.Lock(3, ask("b", t0))
	other := *ask("c", t0)
	other.File = "00000002-0000-4000-8000-000000000000"
	_, _ = tb.Lock(4, &other)
	_, _ = tb.Unlock(5, &UnlockRequest{File: other.File, TokenHash: hash("c")})
	data, err := tb.EncodeSection()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSection(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.EncodeSection(); string(again) != string(data) {
		t.Fatalf("round trip:\n%s\n%s", data, again)
	}
	if back.Fence(other.File) != 1 || back.Fence(file) != 2 {
		t.Fatal("fences lost")
	}
	l := &Lock{File: file, Holder: "bob", TokenHash: hash("a"), Fence: 1}
	for name, s := range map[string]Section{
		"null":        {Locks: []*Lock{nil}},
		"no fence":    {Locks: []*Lock{l}},
		"wrong fence": {Locks: []*Lock{l}, Fences: map[string]uint64{file: 2}},
		"twice":       {Locks: []*Lock{l, l}, Fences: map[string]uint64{file: 1}},
		"fence 0":     {Fences: map[string]uint64{file: 0}},
		"bad file":    {Fences: map[string]uint64{"x": 1}},
	} {
		if _, err := FromSection(s); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		req  interface{ Validate() error }
		want string
	}{
		{"lock ok", ask("a", t0), ""},
		{"lock ttl 1s", &LockRequest{File: file, Holder: "b", TokenHash: hash("a"), TTL: 1000}, ""},
		{"lock ttl 5m", &LockRequest{File: file, Holder: "b", TokenHash: hash("a"), TTL: 300_000}, ""},
		{"lock ttl short", &LockRequest{File: file, Holder: "b", TokenHash: hash("a"), TTL: 999}, "ttl must be"},
		{"lock ttl long", &LockRequest{File: file, Holder: "b", TokenHash: hash("a"), TTL: 300_001}, "ttl must be"},
		{"lock no file", &LockRequest{Holder: "b", TokenHash: hash("a"), TTL: 1000}, "file is required"},
		{"lock bad file", &LockRequest{File: "F", Holder: "b", TokenHash: hash("a"), TTL: 1000}, "lowercase UUID"},
		{"lock no holder", &LockRequest{File: file, TokenHash: hash("a"), TTL: 1000}, "holder is required"},
		{"lock long holder", &LockRequest{File: file, Holder: strings.Repeat("h", 257), TokenHash: hash("a"), TTL: 1000}, "holder is longer"},
		{"lock bad hash", &LockRequest{File: file, Holder: "b", TokenHash: "A", TTL: 1000}, "token_hash must be"},
		{"unlock ok", &UnlockRequest{File: file, TokenHash: hash("a")}, ""},
		{"unlock bad hash", &UnlockRequest{File: file}, "token_hash must be"},
	}
	for _, tc := range cases {
		err := tc.req.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
