package fsm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/fsm/catalog"
)

func raw(t MessageType, body string) []byte { return append([]byte{byte(t)}, body...) }

func TestDecodeCommand(t *testing.T) {
	good := &catalog.RegisterRequest{ID: "a", Name: "web", Address: "h:1", Tags: []string{"x"}, Now: t0}
	tests := []struct {
		name    string
		data    []byte
		wantT   MessageType
		want    any    // the decoded request, when no error
		wantErr string // a fragment of the error
	}{
		{"register", mustEncode(t, RegisterRequestType, good), RegisterRequestType, good, ""},
		{"update", raw(UpdateInstanceRequestType, `{"id":"a","version":"v2","now":"2025-03-01T12:00:00Z"}`), UpdateInstanceRequestType,
			&catalog.UpdateInstanceRequest{ID: "a", Version: ptr("v2"), Now: t0}, ""},
		{"deregister", raw(DeregisterRequestType, `{"id":"a"}`), DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}, ""},
		{"set status", raw(SetStatusRequestType, ` {"id":"a","status":"critical","now":"2025-03-01T12:00:00Z"} `+"\n"), SetStatusRequestType,
			&catalog.SetStatusRequest{ID: "a", Status: "critical", Now: t0}, ""},
		{"nil", nil, 0, nil, "empty"},
		{"type byte only", []byte{byte(RegisterRequestType)}, 0, nil, "JSON object"},
		{"unknown type", raw(31, `{}`), 0, nil, "unknown message type 31"},
		{"batch", EncodeBatch([][]byte{raw(DeregisterRequestType, `{"id":"a"}`)}), 0, nil, "batch"},
		{"unknown field", raw(DeregisterRequestType, `{"id":"a","why":"x"}`), 0, nil, "unknown field"},
		{"trailing data", raw(DeregisterRequestType, `{"id":"a"} {"id":"b"}`), 0, nil, "after"},
		{"trailing garbage", raw(DeregisterRequestType, `{"id":"a"}x`), 0, nil, "after"},
		{"wrong type", raw(DeregisterRequestType, `{"id":7}`), 0, nil, "cannot unmarshal"},
		{"wrong nested type", raw(RegisterRequestType, `{"name":"web","check":{"interval":"10s"}}`), 0, nil, "cannot unmarshal"},
		{"null", raw(DeregisterRequestType, `null`), 0, nil, "JSON object"},
		{"array", raw(DeregisterRequestType, `[]`), 0, nil, "JSON object"},
		{"truncated", raw(DeregisterRequestType, `{"id":"a"`), 0, nil, "EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, req, err := DecodeCommand(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("DecodeCommand = %v, %#v, %v; want an ErrInvalid mentioning %q", typ, req, err, tc.wantErr)
				}
				return
			}
			if err != nil || typ != tc.wantT || !reflect.DeepEqual(req, tc.want) {
				t.Fatalf("DecodeCommand = %v, %#v, %v; want %v, %#v", typ, req, err, tc.wantT, tc.want)
			}
			// What DecodeCommand accepts, Apply's decoding accepts too.
			if err := ValidateEncoded(tc.data); err != nil {
				t.Errorf("ValidateEncoded = %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	f := New(Config{MinCheckInterval: time.Second, MinDeregisterAfter: time.Minute})
	okCheck := func() *catalog.Check {
		c := &catalog.Check{}
		c.SetDefaults("h:1")
		return c
	}
	tests := []struct {
		name string
		t    MessageType
		req  any
		want string // "" for valid, else the exact message after "invalid request: "
	}{
		{"register", RegisterRequestType, &catalog.RegisterRequest{Name: "web", Address: "h:1", Check: okCheck()}, ""},
		{"register bad name", RegisterRequestType, &catalog.RegisterRequest{Name: "Web", Address: "h:1"},
			`name "Web" is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit`},
		{"register short interval", RegisterRequestType, &catalog.RegisterRequest{Name: "web", Address: "h:1",
			Check: &catalog.Check{HTTP: "http://h:1/", Interval: time.Millisecond, Timeout: time.Microsecond, FailuresBeforeCritical: 1, SuccessesBeforePassing: 1}},
			"check.interval must be at least 1s"},
		{"update bad address", UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Address: ptr("nowhere")},
			`address "nowhere" is not host:port`},
		{"update", UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a", Version: ptr("v2")}, ""},
		{"deregister", DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}, ""},
		{"set status", SetStatusRequestType, &catalog.SetStatusRequest{ID: "a", Status: catalog.StatusPassing}, ""},
		{"set status bad", SetStatusRequestType, &catalog.SetStatusRequest{ID: "a", Status: "warning"}, `status "warning" must be passing or critical`},
		{"wrong request type", RegisterRequestType, &catalog.DeregisterRequest{ID: "a"},
			"request is *catalog.DeregisterRequest, want *catalog.RegisterRequest"},
		{"nil request", DeregisterRequestType, nil, "request is <nil>, want *catalog.DeregisterRequest"},
		{"batch", BatchRequestType, nil, "unknown message type 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.Validate(tc.t, tc.req)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != "invalid request: "+tc.want || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid %q", err, tc.want)
			}
		})
	}
	// The limits are the FSM's own.
	lax := New(Config{MinCheckInterval: time.Millisecond})
	if err := lax.Validate(RegisterRequestType, tests[2].req); err != nil {
		t.Errorf("with a 1ms minimum: %v", err)
	}
}

func TestValidateCommand(t *testing.T) {
	f := New(DefaultConfig())
	if _, _, err := f.ValidateCommand(raw(RegisterRequestType, `{"name":"Web","address":"h:1"}`)); err == nil ||
		!errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), `invalid request: name "Web" is invalid`) {
		t.Errorf("bad name: %v", err)
	}
	if _, _, err := f.ValidateCommand(raw(RegisterRequestType, `{"name":"web","address":"h:1","x":1}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown field: %v", err)
	}
	typ, req, err := f.ValidateCommand(raw(DeregisterRequestType, `{"id":"a"}`))
	if err != nil || typ != DeregisterRequestType || req.(*catalog.DeregisterRequest).ID != "a" {
		t.Errorf("deregister = %v %#v %v", typ, req, err)
	}
}

func TestPrecheck(t *testing.T) {
	h := newHarness(t)
	h.mustResult(RegisterRequestType, reg("a", "web", "h:1"))
	tests := []struct {
		name string
		t    MessageType
		req  any
		want error
	}{
		{"register is never known to fail", RegisterRequestType, reg("", "web", "h:9"), nil},
		{"update held", UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "a"}, nil},
		{"update missing", UpdateInstanceRequestType, &catalog.UpdateInstanceRequest{ID: "b"}, ErrNotFound},
		{"deregister held", DeregisterRequestType, &catalog.DeregisterRequest{ID: "a"}, nil},
		{"deregister missing", DeregisterRequestType, &catalog.DeregisterRequest{ID: "b"}, ErrNotFound},
		{"set status held", SetStatusRequestType, &catalog.SetStatusRequest{ID: "a", Status: "critical"}, nil},
		{"set status missing", SetStatusRequestType, &catalog.SetStatusRequest{ID: "b", Status: "critical"}, ErrNotFound},
		{"wrong request type", DeregisterRequestType, reg("a", "web", "h:1"), ErrInvalid},
		{"unknown type", 40, nil, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.fsm.Precheck(tc.t, tc.req); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Precheck = %v, want %v", err, tc.want)
			}
		})
	}
	// A precheck that passes agrees with Apply for the same state.
	if resp := h.apply(DeregisterRequestType, &catalog.DeregisterRequest{ID: "b"}); resp != ErrNotFound {
		t.Errorf("Apply of what Precheck refused = %v", resp)
	}
}

func TestStamp(t *testing.T) {
	now := t1
	newID := func() string { return "fresh" }
	for _, tc := range []struct {
		req  Stamper
		want any
	}{
		{&catalog.RegisterRequest{ID: "old", Name: "web"}, &catalog.RegisterRequest{ID: "fresh", Name: "web", Now: now}},
		{&catalog.UpdateInstanceRequest{ID: "a"}, &catalog.UpdateInstanceRequest{ID: "a", Now: now}},
		{&catalog.SetStatusRequest{ID: "a", Status: "passing"}, &catalog.SetStatusRequest{ID: "a", Status: "passing", Now: now}},
	} {
		tc.req.Stamp(now, newID)
		if !reflect.DeepEqual(tc.req, tc.want) {
			t.Errorf("stamped %#v, want %#v", tc.req, tc.want)
		}
	}
	if _, ok := any(&catalog.DeregisterRequest{}).(Stamper); ok {
		t.Error("a deregistration carries nothing to stamp")
	}
}

func TestDecodeResult(t *testing.T) {
	want := &catalog.Result{ID: "a", Change: catalog.Created, ChangeVersion: 1, Index: 7}
	for _, typ := range []MessageType{RegisterRequestType, UpdateInstanceRequestType, DeregisterRequestType, SetStatusRequestType} {
		got, err := DecodeResult(typ, []byte(`{"id":"a","change":"created","change_version":1,"index":7}`))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeResult(%s) = %#v, %v", typ, got, err)
		}
	}
	if _, err := DecodeResult(RegisterRequestType, []byte(`{"index":"7"}`)); err == nil {
		t.Error("DecodeResult of a wrongly typed result: no error")
	}
	if _, err := DecodeResult(BatchRequestType, []byte(`{}`)); err == nil {
		t.Error("DecodeResult of a batch: no error")
	}
}

func TestErrorNames(t *testing.T) {
	for _, tc := range []struct {
		err  error
		name string
	}{
		{ErrNotFound, "not_found"}, {ErrConflict, "conflict"}, {ErrInvalidStatus, "invalid_status"},
		{catalog.ErrNotFound, "not_found"}, {errors.Join(errors.New("x"), ErrConflict), "conflict"},
		{errors.New("other"), ""}, {nil, ""}, {ErrInvalid, ""},
	} {
		if got := ErrorName(tc.err); got != tc.name {
			t.Errorf("ErrorName(%v) = %q, want %q", tc.err, got, tc.name)
		}
		if tc.name != "" && !errors.Is(tc.err, ErrorByName(tc.name)) {
			t.Errorf("ErrorByName(%q) = %v, want %v", tc.name, ErrorByName(tc.name), tc.err)
		}
	}
	if ErrorByName("nope") != nil {
		t.Error("ErrorByName of an unknown name is not nil")
	}
}
