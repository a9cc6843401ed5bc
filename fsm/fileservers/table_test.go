package fileservers

import (
	"errors"
	"strings"
	"testing"
)

func TestRegister(t *testing.T) {
	tb := New()
	a, err := tb.Register(1, &RegisterRequest{ID: "a", Address: "h:1"})
	if err != nil || a.Server.Ring != 1 || a.Server.State != StateAlive || a.Index != 1 || a.Server.CreateIndex != 1 {
		t.Fatalf("first: %+v %v", a, err)
	}
	b, _ := tb.Register(2, &RegisterRequest{ID: "b", Address: "h:2"})
	if b.Server.Ring != 2 {
		t.Fatalf("second ring %d", b.Server.Ring)
	}
	tb.AddCopy("a", 10)
	if _, err := tb.SetState(3, &SetStateRequest{ID: "a", State: StateLeft}); err != nil {
		t.Fatal(err)
	}
	// Re-registering keeps the ring position and counts, takes the new
	// address, and is alive again.
	again, _ := tb.Register(4, &RegisterRequest{ID: "a", Address: "h:9"})
	s := again.Server
	if s.Ring != 1 || s.Address != "h:9" || s.State != StateAlive || s.Files != 1 || s.Bytes != 10 || s.CreateIndex != 1 || s.ModifyIndex != 4 {
		t.Fatalf("re-register: %+v", s)
	}
	if tb.LastRing() != 2 || tb.Len() != 2 {
		t.Fatalf("ring %d len %d", tb.LastRing(), tb.Len())
	}
	c, _ := tb.Register(5, &RegisterRequest{ID: "c", Address: "h:3"})
	if c.Server.Ring != 3 {
		t.Fatalf("third ring %d", c.Server.Ring)
	}
	all := tb.All()
	if len(all) != 3 || all[0].ID != "a" || all[1].ID != "b" || all[2].ID != "c" {
		t.Fatalf("ring order: %v %v %v", all[0].ID, all[1].ID, all[2].ID)
	}
}

func TestSetState(t *testing.T) {
	tb := New()
	_, _ = tb.Register(1, &RegisterRequest{ID: "a", Address: "h:1"})
	if _, err := tb.SetState(2, &SetStateRequest{ID: "zz", State: StateDead}); !errors.Is(err, ErrServerNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if err := tb.CheckSetState(&SetStateRequest{ID: "zz", State: StateDead}); !errors.Is(err, ErrServerNotFound) {
		t.Fatalf("check unknown: %v", err)
	}
	res, err := tb.SetState(2, &SetStateRequest{ID: "a", State: StateDead})
	if err != nil || res.Server.State != StateDead || res.Server.ModifyIndex != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if s, _ := tb.Get("a"); s.Live() {
		t.Fatal("dead server is live")
	}
}

func TestCopiesAndClone(t *testing.T) {
	tb := New()
	_, _ = tb.Register(1, &RegisterRequest{ID: "a", Address: "h:1"})
	tb.AddCopy("a", 100)
	tb.AddCopy("a", 50)
	tb.AddCopy("unknown", 7) // ignored
	snap := tb.Clone()
	tb.RemoveCopy("a", 100)
	if s, _ := tb.Get("a"); s.Files != 1 || s.Bytes != 50 {
		t.Fatalf("counts %+v", s)
	}
	if s, _ := snap.Get("a"); s.Files != 2 || s.Bytes != 150 {
		t.Fatalf("clone changed: %+v", s)
	}
}

func TestSectionRoundTrip(t *testing.T) {
	tb := New()
	_, _ = tb.Register(1, &RegisterRequest{ID: "a", Address: "h:1"})
	_, _ = tb.Register(2, &RegisterRequest{ID: "b", Address: "h:2"})
	_, _ = tb.SetState(3, &SetStateRequest{ID: "b", State: StateLeft})
	tb.AddCopy("a", 5)
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
	// The counter came back: the next server takes position 3.
	if r, _ := back.Register(4, &RegisterRequest{ID: "c", Address: "h:3"}); r.Server.Ring != 3 {
		t.Fatalf("ring after restore %d", r.Server.Ring)
	}
	if e, _ := New().EncodeSection(); string(e) != `{"ring":0,"servers":[]}` {
		t.Fatalf("empty: %s", e)
	}
}

func TestFromSectionRefusesBrokenSections(t *testing.T) {
	srv := func(id string, ring uint64) *Server {
		return &Server{ID: id, Address: "h:1", Ring: ring, State: StateAlive}
	}
	cases := map[string]Section{
		"null":          {Ring: 1, Servers: []*Server{nil}},
		"id twice":      {Ring: 2, Servers: []*Server{srv("a", 1), srv("a", 2)}},
		"ring twice":    {Ring: 2, Servers: []*Server{srv("a", 1), srv("b", 1)}},
		"ring zero":     {Ring: 2, Servers: []*Server{srv("a", 0)}},
		"beyond ring":   {Ring: 1, Servers: []*Server{srv("a", 2)}},
		"bad state":     {Ring: 1, Servers: []*Server{{ID: "a", Address: "h:1", Ring: 1, State: "zombie"}}},
		"bad address":   {Ring: 1, Servers: []*Server{{ID: "a", Address: "nohost", Ring: 1, State: StateAlive}}},
		"negative file": {Ring: 1, Servers: []*Server{{ID: "a", Address: "h:1", Ring: 1, State: StateAlive, Files: -1}}},
	}
	for name, s := range cases {
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
		{"register ok", &RegisterRequest{ID: "fs-1", Address: "10.0.0.1:7400"}, ""},
		{"register ipv6", &RegisterRequest{ID: "fs-1", Address: "[::1]:7400"}, ""},
		{"register no id", &RegisterRequest{Address: "h:1"}, "id is required"},
		{"register long id", &RegisterRequest{ID: strings.Repeat("a", 257), Address: "h:1"}, "longer than 256"},
		{"register space id", &RegisterRequest{ID: "a b", Address: "h:1"}, "space, control"},
		{"register slash id", &RegisterRequest{ID: "a/b", Address: "h:1"}, "space, control"},
		{"register no port", &RegisterRequest{ID: "a", Address: "h"}, "must be host:port"},
		{"register no host", &RegisterRequest{ID: "a", Address: ":1"}, "must be host:port"},
		{"register port 0", &RegisterRequest{ID: "a", Address: "h:0"}, "port must be"},
		{"register port big", &RegisterRequest{ID: "a", Address: "h:70000"}, "port must be"},
		{"state ok", &SetStateRequest{ID: "a", State: StateDead}, ""},
		{"state unknown", &SetStateRequest{ID: "a", State: "gone"}, "is not one of"},
		{"state no id", &SetStateRequest{State: StateLeft}, "id is required"},
	}
	for _, tc := range cases {
		err := tc.req.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestDraining(t *testing.T) {
	tb := New()
	_, _ = tb.Register(1, &RegisterRequest{ID: "a", Address: "h:1"})
	if err := (&SetStateRequest{ID: "a", State: StateDraining}).Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := tb.SetState(2, &SetStateRequest{ID: "a", State: StateDraining})
	if err != nil || res.Server.State != StateDraining {
		t.Fatalf("%+v %v", res, err)
	}
	for _, tc := range []struct {
		state       string
		live, alive bool
	}{{StateAlive, true, true}, {StateDraining, true, false}, {StateDead, false, false}, {StateLeft, false, false}} {
		s := Server{State: tc.state}
		if s.Live() != tc.live || s.Alive() != tc.alive || Readable(tc.state) != tc.live {
			t.Errorf("%s: live %v alive %v", tc.state, s.Live(), s.Alive())
		}
	}
	// A draining server survives a snapshot.
	data, _ := tb.EncodeSection()
	if back, err := DecodeSection(data); err != nil {
		t.Fatal(err)
	} else if s, _ := back.Get("a"); s.State != StateDraining {
		t.Fatalf("restored %+v", s)
	}
}

func TestSetStateIfIndexIsACompareAndSet(t *testing.T) {
	tb := New()
	if _, err := tb.Register(5, &RegisterRequest{ID: "fs1", Address: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	// The leader read the server at index 5 and its probe failed; the
	// server restarted and registered again (index 7) before the commit.
	if _, err := tb.Register(7, &RegisterRequest{ID: "fs1", Address: "127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.SetState(8, &SetStateRequest{ID: "fs1", State: StateDead, IfIndex: 5}); !errors.Is(err, ErrServerChanged) {
		t.Fatalf("dead against a stale view: %v", err)
	}
	if s, _ := tb.Get("fs1"); s.State != StateAlive || s.ModifyIndex != 7 {
		t.Fatalf("after a refused change: %+v", s)
	}
	if _, err := tb.SetState(9, &SetStateRequest{ID: "fs1", State: StateDead, IfIndex: 7}); err != nil {
		t.Fatalf("dead against the latest view: %v", err)
	}
	if _, err := tb.SetState(10, &SetStateRequest{ID: "fs1", State: StateAlive}); err != nil {
		t.Fatalf("unconditional: %v", err)
	}
}
