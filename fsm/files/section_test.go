package files

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sample is a table whose ids share long prefixes (the sort's fast key is
// their first 8 bytes) and whose names need escaping.
func sample(t *testing.T) *Table {
	t.Helper()
	tb := New()
	ids := []string{
		"00000001-0000-4000-8000-000000000002", "00000001-0000-4000-8000-000000000001",
		"ffffffff-0000-4000-8000-000000000000", "00000000-ffff-4000-8000-000000000000",
		"00000001-0000-4000-8000-000000000000",
	}
	names := []string{"a<b>&c", "ünï/cödé", "x\u2028y", `q"uote\d`, "plain"}
	for i, fid := range ids {
		r := create(i+1, fmt.Sprint("user", i%2), names[i])
		r.ID = fid
		if _, err := tb.Create(uint64(i+1), r); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

// The streamed section is, byte for byte, json.Marshal of the Section
// with files ordered by id: the encoding agents wrote before it streamed,
// and the one they can decode.
func TestWriteSectionIsTheMarshalledSection(t *testing.T) {
	tb := sample(t)
	want, err := json.Marshal(Section{Files: tb.All()})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := tb.WriteSection(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("streamed:\n%s\nmarshalled:\n%s", got.String(), want)
	}
	if enc, _ := tb.EncodeSection(); string(enc) != string(want) {
		t.Fatalf("EncodeSection:\n%s\nwant\n%s", enc, want)
	}
	if empty, _ := New().EncodeSection(); string(empty) != `{"files":[]}` {
		t.Fatalf("empty section %s", empty)
	}
	// What older agents decode with json.Unmarshal.
	var s Section
	if err := json.Unmarshal(got.Bytes(), &s); err != nil || len(s.Files) != tb.Len() {
		t.Fatalf("Unmarshal: %d files, %v", len(s.Files), err)
	}
}

// ReadSection reads what json.Unmarshal into a Section reads: white
// space, keys in any case, unknown keys, a null list.
func TestReadSectionReadsWhatUnmarshalReads(t *testing.T) {
	tb := sample(t)
	indented, err := json.MarshalIndent(Section{Files: tb.All()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tb.EncodeSection()
	for name, data := range map[string]string{
		"indented":       string(indented),
		"key case":       strings.Replace(string(want), `"files"`, `"Files"`, 1),
		"unknown keys":   `{"count":5,"x":{"files":[1]},` + strings.TrimPrefix(string(want), "{"),
		"trailing space": string(want) + " \n",
	} {
		got, err := DecodeSection([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again, _ := got.EncodeSection(); string(again) != string(want) {
			t.Fatalf("%s: decoded to\n%s\nwant\n%s", name, again, want)
		}
	}
	for _, data := range []string{`{}`, `{"files":null}`, `{"files":[]}`} {
		got, err := DecodeSection([]byte(data))
		if err != nil || got.Len() != 0 {
			t.Fatalf("%s: %v, %d files", data, err, got.Len())
		}
	}
	if f, ok := sample(t).ByName("user0", "a<b>&c"); !ok || !reflect.DeepEqual(f.Replicas, []string{"s1", "s2"}) {
		t.Fatal("sample lost a file")
	}
}

func TestReadSectionRefuses(t *testing.T) {
	want, _ := sample(t).EncodeSection()
	for name, data := range map[string]string{
		"null":             `null`,
		"list":             `[]`,
		"files not a list": `{"files":{}}`,
		"files a string":   `{"files":"x"}`,
		"null file":        `{"files":[null]}`,
		"file not object":  `{"files":[1]}`,
		"bad id":           strings.Replace(string(want), `"00000000-ffff`, `"0000000X-ffff`, 1),
		"truncated":        string(want[:len(want)/2]),
		"unterminated":     strings.TrimSuffix(string(want), "}"),
		"trailing data":    string(want) + "{}",
	} {
		if _, err := DecodeSection([]byte(data)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
