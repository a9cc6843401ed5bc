package keyring

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/memberlist"
)

// KeySize is the length of a cluster key in bytes: AES-256 for gossip.
const KeySize = 32

// EnvVar is the environment variable an agent and `custodes leave` read the
// key list from when neither --encrypt nor --encrypt-file is given.
const EnvVar = "CUSTODES_ENCRYPT"

// Generate returns a new random key, base64-encoded, as `custodes keygen`
// prints it.
func Generate() (string, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return Encode(k), nil
}

// Encode writes one key as it is given on the command line.
func Encode(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// Parse reads a list of base64 keys separated by commas (whitespace and
// newlines around them are ignored, so a key file may hold one per line).
// The first key is the primary one. An empty list is an error: callers
// that allow "no key" check for an empty string first.
func Parse(list string) ([][]byte, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '\n' })
	var keys [][]byte
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(f)
		if err != nil {
			return nil, fmt.Errorf("key %d: not standard base64 (generate one with `custodes keygen`): %v", i+1, err)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("key %d: %d bytes, a key must be exactly %d (generate one with `custodes keygen`)", i+1, len(k), KeySize)
		}
		for j, prev := range keys {
			if bytes.Equal(prev, k) {
				return nil, fmt.Errorf("key %d: the same as key %d", i+1, j+1)
			}
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no key in the list")
	}
	return keys, nil
}

// Load finds the key list an operator gave, in order of precedence: the
// --encrypt flag's value, then the file --encrypt-file names, then the
// environment variable EnvVar (read through getenv; nil means os.Getenv).
// It returns no keys and no error when none of them is set, and names the
// source it used (for logs and errors).
func Load(flagValue, file string, getenv func(string) string) (keys [][]byte, source string, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case flagValue != "":
		source = "--encrypt"
		keys, err = Parse(flagValue)
	case file != "":
		source = "--encrypt-file " + file
		b, rerr := os.ReadFile(file)
		if rerr != nil {
			return nil, source, fmt.Errorf("%s: %w", source, rerr)
		}
		keys, err = Parse(string(b))
	case getenv(EnvVar) != "":
		source = EnvVar
		keys, err = Parse(getenv(EnvVar))
	default:
		return nil, "", nil
	}
	if err != nil {
		return nil, source, fmt.Errorf("%s: %w", source, err)
	}
	return keys, source, nil
}

// Memberlist builds memberlist's keyring: the first key encrypts, every key
// decrypts. Set it as memberlist.Config.Keyring together with
// GossipVerifyIncoming and GossipVerifyOutgoing, so that unencrypted
// packets are neither sent nor accepted.
func Memberlist(keys [][]byte) (*memberlist.Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key")
	}
	return memberlist.NewKeyring(keys, keys[0])
}
