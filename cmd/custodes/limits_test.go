package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/custodes/custodes/agent"
)

func TestLimitFlagsSetTheConfig(t *testing.T) {
	cfg := agent.DefaultConfig()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	limitFlags(fs, &cfg)
	err := fs.Parse([]string{"--http-read-header-timeout", "2s", "--http-write-timeout", "10s",
		"--max-connections", "100", "--max-watchers", "7", "--write-rate", "2.5", "--write-burst", "5"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.ReadHeaderTimeout != 2*time.Second || cfg.API.Limits.WriteTimeout != 10*time.Second ||
		cfg.HTTP.MaxConnections != 100 || cfg.API.Limits.MaxWatchers != 7 ||
		cfg.API.Limits.WriteRate != 2.5 || cfg.API.Limits.WriteBurst != 5 {
		t.Fatalf("flags not applied: %+v %+v", cfg.HTTP, cfg.API.Limits)
	}
}

// A bad limit stops agent and dev before anything starts, naming the flag.
func TestBadLimitsAreRefusedNamingTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"agent", "--node-id", "n1", "--data-dir", t.TempDir(), "--bootstrap-expect", "1", "--max-watchers", "-1"}, "--max-watchers"},
		{[]string{"agent", "--node-id", "n1", "--data-dir", t.TempDir(), "--bootstrap-expect", "1", "--write-rate", "-3"}, "--write-rate"},
		{[]string{"dev", "--max-connections", "-1"}, "--max-connections"},
		{[]string{"dev", "--http-read-header-timeout", "0s"}, "--http-read-header-timeout"},
	} {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), c.flag) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", c.args, code, errOut.String(), c.flag)
		}
	}
}
