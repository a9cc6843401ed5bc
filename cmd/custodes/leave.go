package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runLeave decommissions a running agent: it leaves gossip and the Raft
// configuration, then stops.
func runLeave(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes leave", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", "127.0.0.1:8500", "HTTP address of the agent that should leave")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post("http://"+*addr+"/admin/leave", "application/json", nil)
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
