package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/custodes/custodes/agent"
)

// dfsFlags are the agent's file-system settings.
func dfsFlags(fs *flag.FlagSet, cfg *agent.Config) {
	d := &cfg.Directory
	fs.IntVar(&d.Replicas, "replicas", d.Replicas, "copies of every new file, on distinct file servers (1-16)")
	r := &cfg.Replication
	fs.DurationVar(&r.Interval, "replication-interval", r.Interval, "time between the leader's replication sweeps (one also runs within a second of a file server dying, registering or draining)")
	fs.IntVar(&r.Concurrency, "replication-concurrency", r.Concurrency, "copies in flight per file server during a sweep")
	fs.DurationVar(&r.InventoryInterval, "inventory-interval", r.InventoryInterval, "how often the leader reads again each live file server's inventory (copies its scrub found corrupt, copies lost); 0: only when it registers")
	fs.DurationVar(&r.OrphanGrace, "orphan-grace", r.OrphanGrace, "a returning file server's copies of files the index never knew are removed once this old")
	fs.Func("max-file-size", fmt.Sprintf("largest file accepted, in bytes or with a KiB, MiB, GiB suffix (default %s)", formatSize(d.MaxFileSize)), func(v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		d.MaxFileSize = n
		return nil
	})
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads "1048576", "512KiB", "1GiB".
func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(s), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: a positive number of bytes, or with KiB, MiB, GiB or TiB", v)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
