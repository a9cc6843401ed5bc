package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteTableAligns(t *testing.T) {
	var b bytes.Buffer
	err := writeTable(&b, []string{"ID", "ADDRESS", "STATE"}, [][]string{
		{"node1", "127.0.0.1:8301", "leader"},
		{"n2", "10.0.0.2:8301", "follower"},
		{"tab\there", "new\nline", "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID        ADDRESS         STATE\n" +
		"node1     127.0.0.1:8301  leader\n" +
		"n2        10.0.0.2:8301   follower\n" +
		"tab here  new line        x\n"
	if b.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteFields(t *testing.T) {
	var b bytes.Buffer
	if err := writeFields(&b, [][2]string{{"name", "a"}, {"version", "3"}}); err != nil {
		t.Fatal(err)
	}
	if want := "name:    a\nversion: 3\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestWriteJSONKeepsTheContent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"b":[true,null]}`, "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ]\n}\n"},
		{"  {}\n", "{}\n"},
		{"not json", "not json"},
	} {
		var b bytes.Buffer
		if err := writeJSON(&b, []byte(tc.in)); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("writeJSON(%q) = %q, want %q", tc.in, b.String(), tc.want)
		}
	}
	var b bytes.Buffer
	if err := writeJSONLine(&b, []byte("{\n \"a\": 1\n}\n")); err != nil || b.String() != "{\"a\":1}\n" {
		t.Fatalf("writeJSONLine = %q, %v", b.String(), err)
	}
}

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{3 << 20, "3.0 MiB"}, {5 << 30, "5.0 GiB"}, {1 << 62, "4.0 EiB"},
	} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "-"},
		{now.Add(-1234567 * time.Microsecond), "1.23s ago"},
		{now.Add(-42 * time.Millisecond), "42ms ago"},
		{now.Add(-90 * time.Minute), "1h30m0s ago"},
		{now.Add(2 * time.Second), "in 2s"},
	} {
		if got := ago(tc.t, now); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestRowsOfTheViews(t *testing.T) {
	var st raftView
	st.Leader = &raftLeader{ID: "b"}
	st.Servers = []raftServer{{"a", "1.1.1.1:1", "Voter"}, {"b", "1.1.1.2:1", "Voter"}, {"c", "1.1.1.3:1", "Nonvoter"}}
	h := healthView{Servers: []serverHealth{{ID: "a", AppliedIndex: 7}, {ID: "b", AppliedIndex: 9}}}
	got := raftRows(st, h, true)
	want := [][]string{
		{"a", "1.1.1.1:1", "follower", "yes", "7"},
		{"b", "1.1.1.2:1", "leader", "yes", "9"},
		{"c", "1.1.1.3:1", "follower", "no", "-"},
	}
	if !equalRows(got, want) {
		t.Fatalf("raftRows = %v, want %v", got, want)
	}
	if got := raftRows(st, h, false); got[0][4] != "-" {
		t.Fatalf("without health the last index is %q", got[0][4])
	}

	ms := []memberView{{Name: "fs1", Role: "file"}, {Name: "n2", Role: "registry"}, {Name: "n1", Role: "registry"}}
	rows := membersRows(ms)
	if rows[0][0] != "n1" || rows[1][0] != "n2" || rows[2][0] != "fs1" || rows[2][4] != "-" {
		t.Fatalf("membersRows = %v: agents first by name, then file servers", rows)
	}

	srv := servicesRows([]serviceRow{{Name: "web", Instances: []instanceView{{Status: "passing"}, {Status: "critical"}, {Status: "passing"}}}})
	if !equalRows(srv, [][]string{{"web", "3", "2", "1"}}) {
		t.Fatalf("servicesRows = %v", srv)
	}
}

func TestWriteDFS(t *testing.T) {
	var v dfsView
	v.Files, v.Bytes, v.Replicas, v.Lost, v.Queue = 2, 3<<20, 3, 1, 4
	v.Servers = []dfsServer{
		{ID: "fs2", Ring: 2, State: "dead", Gossip: "dead"},
		{ID: "fs1", Ring: 1, State: "alive", Gossip: "alive", Files: 2, Bytes: 3 << 20},
	}
	var b bytes.Buffer
	if err := writeDFS(&b, v, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"files 2 (3.0 MiB)", "replication queue 4, lost 1", "1     fs1", "2     fs2"} {
		if !strings.Contains(out, want) {
			t.Errorf("dfs output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "fs1") > strings.Index(out, "fs2") {
		t.Errorf("servers not in ring order:\n%s", out)
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "|") != strings.Join(b[i], "|") {
			return false
		}
	}
	return true
}
