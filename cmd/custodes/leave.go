package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/custodes/custodes/keyring"
)

// runLeave decommissions a running agent: it leaves gossip and the Raft
// configuration, then stops.
func runLeave(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes leave", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", "127.0.0.1:8500", "HTTP address of the agent that should leave")
	var key keyFlags
	key.bind(fs)
	var tf clientTLSFlags
	tf.bind(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	keys, _, err := key.load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "custodes leave: cluster key:", err)
		return 2
	}
	base, scheme, err := tf.transport()
	if err != nil {
		fmt.Fprintln(stderr, "custodes leave:", err)
		return 2
	}
	// An agent started with a key refuses an unsigned leave (401).
	client := &http.Client{Timeout: 30 * time.Second, Transport: keyring.Transport(keys, base)}
	resp, err := client.Post(scheme+*addr+"/admin/leave", "application/json", nil)
	if err != nil {
		fmt.Fprintln(stderr, "custodes leave:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "custodes leave: %s: %s\n", resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", body)
	return 0
}
