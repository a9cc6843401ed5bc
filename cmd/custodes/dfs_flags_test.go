package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true}, {"512KiB", 512 << 10, true}, {"1GiB", 1 << 30, true}, {"3 MiB", 3 << 20, true}, {"7B", 7, true},
		{"0", 0, false}, {"-1", 0, false}, {"1GB", 0, false}, {"", 0, false}, {"99999999999TiB", 0, false},
	} {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
	if got := formatSize(1 << 30); got != "1GiB" {
		t.Errorf("formatSize = %q", got)
	}
}
