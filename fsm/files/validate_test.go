package files

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := func(mod func(r *CreateRequest)) *CreateRequest {
		r := create(1, "bob", "dir/file.txt")
		mod(r)
		return r
	}
	up := func(mod func(r *UpdateRequest)) *UpdateRequest {
		r := &UpdateRequest{ID: id(1), Version: 2, SHA256: sum("a"), Replicas: []string{"s1"}, TokenHash: sum("b"), Fence: 1}
		mod(r)
		return r
	}
	many := make([]string, 17)
	for i := range many {
		many[i] = string(rune('a' + i))
	}
	cases := []struct {
		name string
		req  interface{ Validate() error }
		want string
	}{
		{"create ok", ok(func(*CreateRequest) {}), ""},
		{"create unicode name", ok(func(r *CreateRequest) { r.Name = "été/ファイル" }), ""},
		{"create 1024 bytes", ok(func(r *CreateRequest) { r.Name = strings.Repeat("a", 1024) }), ""},
		{"create no id", ok(func(r *CreateRequest) { r.ID = "" }), "id is required"},
		{"create upper id", ok(func(r *CreateRequest) { r.ID = "ABCDEF01-0000-4000-8000-000000000000" }), "lowercase UUID"},
		{"create no owner", ok(func(r *CreateRequest) { r.Owner = "" }), "owner is required"},
		{"create long owner", ok(func(r *CreateRequest) { r.Owner = strings.Repeat("o", 257) }), "owner is longer"},
		{"create no name", ok(func(r *CreateRequest) { r.Name = "" }), "name is required"},
		{"create long name", ok(func(r *CreateRequest) { r.Name = strings.Repeat("a", 1025) }), "longer than 1024"},
		{"create bad utf8", ok(func(r *CreateRequest) { r.Name = "a\xffb" }), "not valid UTF-8"},
		{"create NUL", ok(func(r *CreateRequest) { r.Name = "a\x00b" }), "control character"},
		{"create newline", ok(func(r *CreateRequest) { r.Name = "a\nb" }), "control character"},
		{"create leading slash", ok(func(r *CreateRequest) { r.Name = "/a" }), "empty segment"},
		{"create trailing slash", ok(func(r *CreateRequest) { r.Name = "a/" }), "empty segment"},
		{"create double slash", ok(func(r *CreateRequest) { r.Name = "a//b" }), "empty segment"},
		{"create dot", ok(func(r *CreateRequest) { r.Name = "a/./b" }), `"." segment`},
		{"create dotdot", ok(func(r *CreateRequest) { r.Name = ".." }), `".." segment`},
		{"create dotfile ok", ok(func(r *CreateRequest) { r.Name = ".hidden/..x" }), ""},
		{"create negative size", ok(func(r *CreateRequest) { r.Size = -1 }), "size must not"},
		{"create bad sha", ok(func(r *CreateRequest) { r.SHA256 = "abc" }), "sha256 must be"},
		{"create no replicas", ok(func(r *CreateRequest) { r.Replicas = nil }), "give 1-16"},
		{"create 17 replicas", ok(func(r *CreateRequest) { r.Replicas = many }), "give 1-16"},
		{"create 16 replicas", ok(func(r *CreateRequest) { r.Replicas = many[:16] }), ""},
		{"create empty replica", ok(func(r *CreateRequest) { r.Replicas = []string{"a", ""} }), "replicas[1] is empty"},
		{"create replica twice", ok(func(r *CreateRequest) { r.Replicas = []string{"a", "a"} }), "appears twice"},
		{"create want 0", ok(func(r *CreateRequest) { r.Want = 0 }), "want must be"},
		{"create want 17", ok(func(r *CreateRequest) { r.Want = 17 }), "want must be"},
		{"update ok", up(func(*UpdateRequest) {}), ""},
		{"update version 1", up(func(r *UpdateRequest) { r.Version = 1 }), "at least 2"},
		{"update no fence", up(func(r *UpdateRequest) { r.Fence = 0 }), "fence is required"},
		{"update bad hash", up(func(r *UpdateRequest) { r.TokenHash = "secret" }), "token_hash must be"},
		{"update bad id", up(func(r *UpdateRequest) { r.ID = "x" }), "lowercase UUID"},
		{"update no replicas", up(func(r *UpdateRequest) { r.Replicas = nil }), "give 1-16"},
		{"delete ok", &DeleteRequest{ID: id(1), By: "bob"}, ""},
		{"delete no by", &DeleteRequest{ID: id(1)}, "by is required"},
		{"delete bad id", &DeleteRequest{ID: "nope", By: "bob"}, "lowercase UUID"},
		{"replicas ok", &SetReplicasRequest{ID: id(1), Version: 1, Replicas: []string{"a"}}, ""},
		{"replicas no version", &SetReplicasRequest{ID: id(1), Replicas: []string{"a"}}, "version is required"},
		{"replicas twice", &SetReplicasRequest{ID: id(1), Version: 1, Replicas: []string{"a", "a"}}, "appears twice"},
	}
	for _, tc := range cases {
		err := tc.req.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := up(func(r *UpdateRequest) { r.TokenHash = "my-secret" }).Validate(); err == nil || strings.Contains(err.Error(), "my-secret") {
		t.Fatalf("token hash echoed: %v", err)
	}
}

func TestStampKeepsTheID(t *testing.T) {
	r := create(1, "bob", "f")
	r.Stamp(t0.In(timeZone()), func() string { return "other" })
	if r.ID != id(1) || r.Time.Location().String() != "UTC" || !r.Time.Equal(t0) {
		t.Fatalf("%+v", r)
	}
}

func timeZone() *time.Location { return time.FixedZone("X", 3600) }

// The hand-written checks accept exactly what the regular expressions of
// the rules accept.
func TestIDAndHashChecksMatchTheRules(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hexRE := regexp.MustCompile(`^[0-9a-f]{64}$`)
	good := "0123abcd-ef01-4000-8000-0123456789ab"
	hash := strings.Repeat("0f", 32)
	cases := []string{"", good, hash, good + "\n", "\n" + good, strings.ToUpper(good), hash[:63], hash + "0"}
	for i := range len(good) {
		for _, c := range []byte("0a9f-gG/:`\x00") {
			b := []byte(good)
			b[i] = c
			cases = append(cases, string(b))
		}
	}
	for i := range len(hash) {
		for _, c := range []byte("0a9f-gG/:`\x00") {
			b := []byte(hash)
			b[i] = c
			cases = append(cases, string(b))
		}
	}
	for _, s := range cases {
		if got, want := isUUID(s), uuidRE.MatchString(s); got != want {
			t.Errorf("isUUID(%q) = %v, want %v", s, got, want)
		}
		if got, want := isLowerHex(s, 64), hexRE.MatchString(s); got != want {
			t.Errorf("isLowerHex(%q, 64) = %v, want %v", s, got, want)
		}
	}
}
