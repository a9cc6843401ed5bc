package shares

import (
	"reflect"
	"strings"
	"testing"
)

const (
	f1 = "00000001-0000-4000-8000-000000000000"
	f2 = "00000002-0000-4000-8000-000000000000"
)

func TestShare(t *testing.T) {
	tb := New()
	res, _ := tb.Share(1, &ShareRequest{File: f1, User: "eve", Mode: ModeRead, By: "bob"})
	if res.Share.Mode != ModeRead || res.Old != "" || res.Index != 1 {
		t.Fatalf("%+v", res)
	}
	_, _ = tb.Share(2, &ShareRequest{File: f2, User: "eve", Mode: ModeWrite, By: "bob"})
	_, _ = tb.Share(3, &ShareRequest{File: f1, User: "ann", Mode: ModeWrite, By: "bob"})
	snap := tb.Clone()
	res, _ = tb.Share(4, &ShareRequest{File: f1, User: "eve", Mode: ModeWrite, By: "bob"})
	if res.Old != ModeRead || tb.Mode(f1, "eve") != ModeWrite {
		t.Fatalf("change: %+v", res)
	}
	if snap.Mode(f1, "eve") != ModeRead {
		t.Fatal("clone changed")
	}
	if got := tb.OfUser("eve"); !reflect.DeepEqual(got, []Share{{f1, "eve", ModeWrite}, {f2, "eve", ModeWrite}}) {
		t.Fatalf("of user %v", got)
	}
	if got := tb.OfFile(f1); len(got) != 2 || got[0].User != "ann" {
		t.Fatalf("of file %v", got)
	}
	res, _ = tb.Share(5, &ShareRequest{File: f1, User: "eve", Mode: ModeNone, By: "bob"})
	if res.Old != ModeWrite || tb.Mode(f1, "eve") != "" || tb.Len() != 2 {
		t.Fatalf("none: %+v len %d", res, tb.Len())
	}
	tb.DropFile(f1)
	if tb.Len() != 1 || len(tb.OfUser("ann")) != 0 || len(tb.byUser) != 1 {
		t.Fatalf("drop file: %v", tb.All())
	}
}

func TestSection(t *testing.T) {
	tb := New()
	_, _ = tb.Share(1, &ShareRequest{File: f2, User: "eve", Mode: ModeRead, By: "bob"})
	_, _ = tb.Share(2, &ShareRequest{File: f1, User: "eve", Mode: ModeWrite, By: "bob"})
	data, err := tb.EncodeSection()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSection(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.EncodeSection(); string(again) != string(data) || back.Mode(f2, "eve") != ModeRead || len(back.OfUser("eve")) != 2 {
		t.Fatalf("round trip:\n%s\n%s", data, again)
	}
	for name, s := range map[string]Section{
		"none":     {Shares: []Share{{f1, "eve", ModeNone}}},
		"twice":    {Shares: []Share{{f1, "eve", ModeRead}, {f1, "eve", ModeWrite}}},
		"bad file": {Shares: []Share{{"x", "eve", ModeRead}}},
		"no user":  {Shares: []Share{{f1, "", ModeRead}}},
	} {
		if _, err := FromSection(s); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		req  ShareRequest
		want string
	}{
		{ShareRequest{File: f1, User: "eve", Mode: ModeRead, By: "bob"}, ""},
		{ShareRequest{File: f1, User: "eve", Mode: ModeNone, By: "bob"}, ""},
		{ShareRequest{User: "eve", Mode: ModeRead, By: "bob"}, "file is required"},
		{ShareRequest{File: "x", User: "eve", Mode: ModeRead, By: "bob"}, "lowercase UUID"},
		{ShareRequest{File: f1, Mode: ModeRead, By: "bob"}, "user is required"},
		{ShareRequest{File: f1, User: strings.Repeat("u", 257), Mode: ModeRead, By: "bob"}, "user is longer"},
		{ShareRequest{File: f1, User: "eve", Mode: "admin", By: "bob"}, "is not one of"},
		{ShareRequest{File: f1, User: "eve", Mode: ModeRead}, "by is required"},
	}
	for i, tc := range cases {
		err := tc.req.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%d: got %v, want %q", i, err, tc.want)
		}
	}
}
