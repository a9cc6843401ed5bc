package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var lim = Limits{MinCheckInterval: time.Second, MinDeregisterAfter: time.Minute}

func TestRegisterValidate(t *testing.T) {
	base := func(mut func(*RegisterRequest)) *RegisterRequest {
		r := &RegisterRequest{Name: "web", Address: "10.0.0.1:80"}
		mut(r)
		return r
	}
	withCheck := func(c Check) func(*RegisterRequest) {
		return func(r *RegisterRequest) { c.SetDefaults(r.Address); r.Check = &c }
	}
	long := strings.Repeat("x", 129)
	tests := []struct {
		name string
		req  *RegisterRequest
		want string // "" for valid, else the exact message
	}{
		{"minimal", base(func(*RegisterRequest) {}), ""},
		{"63 characters", base(func(r *RegisterRequest) { r.Name = strings.Repeat("a", 63) }), ""},
		{"no name", base(func(r *RegisterRequest) { r.Name = "" }), "name is required"},
		{"upper case", base(func(r *RegisterRequest) { r.Name = "Web" }),
			`name "Web" is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit`},
		{"64 characters", base(func(r *RegisterRequest) { r.Name = strings.Repeat("a", 64) }), "is invalid"},
		{"no address", base(func(r *RegisterRequest) { r.Address = "" }), "address is required"},
		{"no port", base(func(r *RegisterRequest) { r.Address = "10.0.0.1" }), `address "10.0.0.1" is not host:port`},
		{"no host", base(func(r *RegisterRequest) { r.Address = ":80" }), `address ":80" has no valid host`},
		{"port 0", base(func(r *RegisterRequest) { r.Address = "h:0" }), `address "h:0": port must be a number from 1 to 65535`},
		{"bad kind", base(func(r *RegisterRequest) { r.Kind = "Not A Kind" }), `kind "Not A Kind" is invalid`},
		{"long version", base(func(r *RegisterRequest) { r.Version = long }), "version is longer than 128 bytes"},
		{"control in version", base(func(r *RegisterRequest) { r.Version = "a\nb" }), "version contains a control character"},
		{"bad utf-8", base(func(r *RegisterRequest) { r.Version = "\xff" }), "version is not valid UTF-8"},
		{"empty tag", base(func(r *RegisterRequest) { r.Tags = []string{"a", ""} }), "tags[1] is empty"},
		{"too many tags", base(func(r *RegisterRequest) { r.Tags = make([]string, 65) }), "at most 64 tags"},
		{"empty meta key", base(func(r *RegisterRequest) { r.Meta = map[string]string{"": "v"} }), "meta has an empty key"},
		{"long meta value", base(func(r *RegisterRequest) { r.Meta = map[string]string{"k": strings.Repeat("v", 513)} }),
			`meta["k"] is longer than 512 bytes`},
		{"default check", base(withCheck(Check{})), ""},
		{"ttl check", base(withCheck(Check{TTL: time.Second, DeregisterAfter: time.Minute, FailuresBeforeCritical: 5})), ""},
		{"ttl and http", base(withCheck(Check{TTL: time.Second, HTTP: "http://h/"})), "a check has either ttl or http/interval/timeout, not both"},
		{"ttl and interval", base(withCheck(Check{TTL: time.Second, Interval: time.Second})), "a check has either ttl or http/interval/timeout, not both"},
		{"short ttl", base(withCheck(Check{TTL: time.Millisecond})), "check.ttl must be at least 1s"},
		{"short deregister_after", base(withCheck(Check{DeregisterAfter: time.Second})), "check.deregister_after must be at least 1m0s"},
		{"bad check url", base(withCheck(Check{HTTP: "ftp://h/"})), `check.http "ftp://h/" is not an http(s) URL`},
		{"short interval", base(withCheck(Check{Interval: 500 * time.Millisecond})), "check.interval must be at least 1s"},
		{"timeout not below interval", base(withCheck(Check{Interval: time.Second, Timeout: time.Second})),
			"check.timeout (1s) must be less than check.interval (1s)"},
		{"too many failures", base(withCheck(Check{FailuresBeforeCritical: 101})), "check.failures_before_critical must be from 1 to 100"},
		{"negative successes", base(withCheck(Check{SuccessesBeforePassing: -1})), "check.successes_before_passing must be from 1 to 100"},
		{"check without defaults", base(func(r *RegisterRequest) { r.Check = &Check{HTTP: "http://h/"} }), "check.interval must be at least 1s"},
		{"negative timeout", base(func(r *RegisterRequest) {
			r.Check = &Check{HTTP: "http://h/", Interval: time.Second, Timeout: -1, FailuresBeforeCritical: 1, SuccessesBeforePassing: 1}
		}), "check.timeout must be positive"},
		{"rectify", base(func(r *RegisterRequest) { r.Rectify = &Rectify{URL: "https://ops/restart"} }), ""},
		{"bad rectify", base(func(r *RegisterRequest) { r.Rectify = &Rectify{URL: "restart"} }), `rectify.url "restart" is not an http(s) URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate(lim)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var ve *ValidationError
			if err == nil || !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestUpdateValidate(t *testing.T) {
	for _, tc := range []struct {
		req  UpdateInstanceRequest
		want string
	}{
		{UpdateInstanceRequest{}, ""},
		{UpdateInstanceRequest{Kind: ptr("")}, ""},
		{UpdateInstanceRequest{Address: ptr("nowhere")}, `address "nowhere" is not host:port`},
		{UpdateInstanceRequest{Address: ptr("a:99999")}, "port must be"},
		{UpdateInstanceRequest{Kind: ptr("Not A Kind")}, `kind "Not A Kind" is invalid`},
		{UpdateInstanceRequest{Version: ptr("\x01")}, "version contains a control character"},
		{UpdateInstanceRequest{Tags: &[]string{""}}, "tags[0] is empty"},
		{UpdateInstanceRequest{Meta: &map[string]string{"": ""}}, "meta has an empty key"},
	} {
		err := tc.req.Validate(lim)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.req, err, tc.want)
		}
	}
}

func TestSetDefaults(t *testing.T) {
	c := Check{}
	c.SetDefaults("h:1")
	want := Check{HTTP: "http://h:1/alive", Interval: 10 * time.Second, Timeout: 2 * time.Second, FailuresBeforeCritical: 2, SuccessesBeforePassing: 1}
	if c != want {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}
	c = Check{Interval: time.Second}
	c.SetDefaults("h:1")
	if c.Timeout != 500*time.Millisecond {
		t.Errorf("timeout for a 1s interval = %s, want half of it", c.Timeout)
	}
	c = Check{TTL: time.Minute, FailuresBeforeCritical: 3, SuccessesBeforePassing: 3}
	c.SetDefaults("h:1")
	if c != (Check{TTL: time.Minute}) {
		t.Errorf("ttl check after defaults = %+v", c)
	}
}
