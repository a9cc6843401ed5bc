package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/custodes/custodes/keyring"
)

// keyFlags binds --encrypt and --encrypt-file; load resolves them (then
// CUSTODES_ENCRYPT) once the flags are parsed. `agent` and `leave` share
// them so an operator gives the key the same way to both.
type keyFlags struct {
	value, file string
}

func (k *keyFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&k.value, "encrypt", "", "cluster key list: base64 keys separated by commas; the first encrypts and signs, all decrypt and verify (see `custodes keygen`; overrides --encrypt-file and "+keyring.EnvVar+")")
	fs.StringVar(&k.file, "encrypt-file", "", "read the cluster key list from this file (overrides "+keyring.EnvVar+")")
}

// load returns the keys and where they came from; none when nothing is set.
func (k *keyFlags) load(getenv func(string) string) ([][]byte, string, error) {
	return keyring.Load(k.value, k.file, getenv)
}

// runKeygen prints a new random cluster key.
func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "custodes keygen: takes no arguments")
		return 2
	}
	k, err := keyring.Generate()
	if err != nil {
		fmt.Fprintln(stderr, "custodes keygen:", err)
		return 1
	}
	fmt.Fprintln(stdout, k)
	return 0
}
