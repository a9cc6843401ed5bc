package catalog

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// populated returns a table with changed, critical and removed instances
// and a service whose last instance is gone.
func populated(t *testing.T) *Table {
	h := newHarness(t)
	for _, req := range []any{
		&RegisterRequest{ID: "a", Name: "web", Address: "h:1", Tags: []string{"x"}, Meta: map[string]string{"k": "v"},
			Check: &Check{TTL: time.Second}, Rectify: &Rectify{URL: "u"}, Now: t0},
		&RegisterRequest{ID: "b", Name: "web", Address: "h:2", Now: t0},
		&RegisterRequest{ID: "c", Name: "gone", Address: "h:1", Now: t0},
		&DeregisterRequest{ID: "c"},
		&SetStatusRequest{ID: "b", Status: StatusCritical, Output: "down", Now: t1},
		&UpdateInstanceRequest{ID: "a", Version: ptr("v2"), Now: t1},
	} {
		h.apply("", req)
	}
	return h.tbl
}

func TestSectionRoundTrip(t *testing.T) {
	for name, tbl := range map[string]*Table{"empty": New(), "populated": populated(t)} {
		t.Run(name, func(t *testing.T) {
			data, err := tbl.EncodeSection()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeSection(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tbl) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tbl)
			}
			again, _ := got.EncodeSection()
			if string(again) != string(data) {
				t.Errorf("re-encoded differently:\n%s\n%s", again, data)
			}
		})
	}
}

func TestDecodeSectionRejects(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"not an object", `[1]`, "cannot unmarshal"},
		{"instances not a list", `{"instances":"x"}`, "cannot unmarshal"},
		{"service index not a map", `{"service_index":[1]}`, "cannot unmarshal"},
		{"truncated", `{"instances":[`, "unexpected end"},
		{"null instance", `{"instances":[null]}`, "instance 0 is empty"},
		{"no id", `{"instances":[{"name":"web"}]}`, "instance 0 is empty or has no id or name"},
		{"no name", `{"instances":[{"id":"a"}]}`, "instance 0 is empty or has no id or name"},
		{"duplicate id", `{"instances":[{"id":"a","name":"web","address":"h:1"},{"id":"a","name":"api","address":"h:1"}]}`, `instance id "a" appears twice`},
		{"duplicate address", `{"instances":[{"id":"a","name":"web","address":"h:1"},{"id":"b","name":"web","address":"h:1"}]}`, "web at h:1 appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeSection([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeSection = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
