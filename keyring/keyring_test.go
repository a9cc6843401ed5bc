package keyring

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustGenerate(t *testing.T) string {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerateGivesDistinct32ByteKeys(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != KeySize {
		t.Fatalf("generated %q: %d bytes, %v", a, len(raw), err)
	}
}

func TestParse(t *testing.T) {
	k1, k2 := mustGenerate(t), mustGenerate(t)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"one key", k1, 1, ""},
		{"a list, primary first", k1 + "," + k2, 2, ""},
		{"spaces and newlines", " " + k1 + " ,\n" + k2 + "\n", 2, ""},
		{"empty", "", 0, "no key"},
		{"only commas", ",,", 0, "no key"},
		{"not base64", "not-a-key!", 0, "key 1: not standard base64"},
		{"wrong length", k1 + "," + short, 0, "key 2: 16 bytes, a key must be exactly 32"},
		{"duplicate", k1 + "," + k1, 0, "key 2: the same as key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(keys) != tt.want {
				t.Fatalf("Parse(%q) = %d keys, %v; want %d", tt.in, len(keys), err, tt.want)
			}
			if Encode(keys[0]) != k1 {
				t.Fatal("the first key of the list is not the primary")
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	flagKey, fileKey, envKey := mustGenerate(t), mustGenerate(t), mustGenerate(t)
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(fileKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == EnvVar {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, flag, file, env string
		want, source, wantErr string
	}{
		{"flag wins", flagKey, file, envKey, flagKey, "--encrypt", ""},
		{"then the file", "", file, envKey, fileKey, "--encrypt-file", ""},
		{"then the environment", "", "", envKey, envKey, EnvVar, ""},
		{"none", "", "", "", "", "", ""},
		{"missing file", "", filepath.Join(t.TempDir(), "nope"), "", "", "", "--encrypt-file"},
		{"bad env names its source", "", "", "junk", "", "", EnvVar + ": key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, source, err := Load(tt.flag, tt.file, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(keys) != 0 || source != "" {
					t.Fatalf("got %d keys from %q, want none", len(keys), source)
				}
				return
			}
			if len(keys) != 1 || Encode(keys[0]) != tt.want || !strings.HasPrefix(source, tt.source) {
				t.Fatalf("got %d keys from %q", len(keys), source)
			}
		})
	}
}

func TestMemberlistKeyringEncryptsWithTheFirstKey(t *testing.T) {
	keys, err := Parse(mustGenerate(t) + "," + mustGenerate(t))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := Memberlist(keys)
	if err != nil {
		t.Fatal(err)
	}
	if got := ring.GetPrimaryKey(); string(got) != string(keys[0]) {
		t.Fatal("the primary key is not the first of the list")
	}
	if len(ring.GetKeys()) != 2 {
		t.Fatalf("keyring holds %d keys, want 2", len(ring.GetKeys()))
	}
	if _, err := Memberlist(nil); err == nil {
		t.Fatal("an empty keyring was accepted")
	}
}
