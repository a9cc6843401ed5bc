package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/custodes/custodes/bench"
	"github.com/custodes/custodes/keyring"
)

// runBenchDFS is `custodes bench dfs`: the directory's throughput (issue
// 9) through an agent, next to SeaweedFS's filer and the direct baseline,
// as one markdown table. Each store is measured only if its flag is given.
func runBenchDFS(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes bench dfs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	agent := fs.String("custodes", "", "an agent's URL (http://host:port): measure the directory through it")
	token := fs.String("token", "", "a user's token for --custodes (or --token-file, or CUSTODES_TOKEN)")
	tokenFile := fs.String("token-file", "", "file holding a user's token for --custodes")
	filer := fs.String("seaweed", "", "a SeaweedFS filer's URL (http://host:port): measure it")
	seaweedModes := fs.String("seaweed-modes", "default,fsync", "SeaweedFS runs: default (its own durability: no fsync per write), fsync (?fsync=true on every write)")
	fileServer := fs.String("fileserver", "", "a custodes file server's URL: the direct baseline, written to without the directory (needs the cluster key)")
	encrypt := fs.String("encrypt", "", "the cluster key list, for --fileserver")
	encryptFile := fs.String("encrypt-file", "", "file holding the cluster key list, for --fileserver")
	sink := fs.String("sink", "", "a `custodes bench sink` URL: the direct baseline as this machine's disk and loopback (PUT + fsync per file)")
	concs := fs.String("concurrency", "1,16,64", "comma-separated concurrencies of the small-file runs")
	smallSize := fs.String("small-size", "4KiB", "size of a small file")
	duration := fs.Duration("duration", 5*time.Second, "at most this long per small-file run")
	maxOps := fs.Int("max-ops", 20000, "at most this many operations per small-file run")
	largeSize := fs.String("large-size", "64MiB", "size of a large file (0 skips the large runs)")
	largeCount := fs.Int("large-count", 3, "large files written, then read, one at a time")
	largeTime := fs.Duration("large-time", 2*time.Minute, "at most this long per large-file run")
	out := fs.String("out", "", "append the markdown report to this file (default: stdout only)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "custodes bench dfs: "+format+"\n", a...)
		return 2
	}
	var levels []int
	for _, s := range strings.Split(*concs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1024 {
			return fail("bad concurrency %q", s)
		}
		levels = append(levels, n)
	}
	small, err := bench.ParseSize(*smallSize)
	if err != nil {
		return fail("--small-size: %v", err)
	}
	var large int64
	if *largeSize != "0" {
		if large, err = bench.ParseSize(*largeSize); err != nil {
			return fail("--large-size: %v", err)
		}
	}
	if *duration <= 0 || *largeTime <= 0 || *maxOps < 1 || *largeCount < 1 {
		return fail("--duration, --large-time, --max-ops and --large-count must be positive")
	}
	modes, err := pick(*seaweedModes, "default", "fsync")
	if err != nil {
		return fail("--seaweed-modes: %v", err)
	}

	run := time.Now().UTC().Format("20060102-150405")
	var (
		stores []bench.Store
		notes  []string
	)
	if *agent != "" {
		tok := *token
		if tok == "" && *tokenFile != "" {
			b, err := os.ReadFile(*tokenFile)
			if err != nil {
				return fail("%v", err)
			}
			tok = strings.TrimSpace(string(b))
		}
		if tok == "" {
			tok = os.Getenv("CUSTODES_TOKEN")
		}
		if tok == "" {
			return fail("--custodes needs a user's token (--token, --token-file or CUSTODES_TOKEN)")
		}
		stores = append(stores, bench.Custodes{Base: strings.TrimRight(*agent, "/"), Token: tok})
	}
	if *filer != "" {
		for _, m := range []string{"default", "fsync"} {
			if modes[m] {
				stores = append(stores, bench.Seaweed{Filer: strings.TrimRight(*filer, "/"), Dir: "/bench/" + run + "-" + m, Fsync: m == "fsync"})
			}
		}
	}
	if *fileServer != "" {
		keys, _, err := keyring.Load(*encrypt, *encryptFile, nil)
		if err != nil {
			return fail("%v", err)
		}
		if len(keys) == 0 {
			return fail("--fileserver needs the cluster key (--encrypt, --encrypt-file or %s)", keyring.EnvVar)
		}
		signer := keyring.NewSigner(keys)
		if bench.CanSignStreamed(signer) {
			stores = append(stores, bench.FileServer{Base: strings.TrimRight(*fileServer, "/"), Signer: signer})
		} else {
			// Measure the rest; say in the report why this row is missing.
			notes = append(notes, fmt.Sprintf("The direct baseline through a file server (%s) was skipped: %v.", *fileServer, bench.ErrNoStreamedSigning))
			fmt.Fprintln(stderr, "custodes bench dfs: skipping --fileserver:", bench.ErrNoStreamedSigning)
		}
	}
	if *sink != "" {
		stores = append(stores, bench.Plain{Label: "direct: fsyncing writer", Base: strings.TrimRight(*sink, "/")})
	}
	if len(stores) == 0 {
		return fail("nothing to measure: give --custodes, --seaweed, --fileserver or --sink")
	}

	maxConc := 1
	for _, n := range levels {
		maxConc = max(maxConc, n)
	}
	c := bench.DFSClient(maxConc)
	loadBefore := loadAverage()
	var results []bench.DFSResult
	record := func(r bench.DFSResult) {
		results = append(results, r)
		fmt.Fprintf(stderr, "%-24s %-5s %-7s c=%-3d %8.1f ops/s %8.1f MB/s p50 %-10s p99 %-10s ok %d errors %d %s\n",
			r.Store, r.Op, bench.SizeString(r.Size), r.Concurrency, r.PerSecond(), r.MBPerSecond(), r.P50, r.P99, r.Ops, r.Errors, r.FirstError)
	}
	for _, s := range stores {
		for _, n := range levels {
			prefix := fmt.Sprintf("b%s-s%d-c%d", run, small, n)
			w, names := bench.RunDFS(c, s, bench.DFSRun{Op: "write", Size: small, Concurrency: n, MaxOps: *maxOps, MaxTime: *duration, Prefix: prefix})
			record(w)
			r, _ := bench.RunDFS(c, s, bench.DFSRun{Op: "read", Size: small, Concurrency: n, MaxOps: *maxOps, MaxTime: *duration, Names: names})
			record(r)
		}
		if large > 0 {
			prefix := fmt.Sprintf("b%s-s%d-c1", run, large)
			w, names := bench.RunDFS(c, s, bench.DFSRun{Op: "write", Size: large, Concurrency: 1, MaxOps: *largeCount, MaxTime: *largeTime, Prefix: prefix})
			record(w)
			r, _ := bench.RunDFS(c, s, bench.DFSRun{Op: "read", Size: large, Concurrency: 1, MaxOps: *largeCount, MaxTime: *largeTime, Names: names})
			record(r)
		}
	}

	var report strings.Builder
	fmt.Fprintf(&report, "## DFS run of %s\n\n%s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	// Other work on the machine shares its cores and disk: say how busy it was.
	fmt.Fprintf(&report, "Load average (1, 5, 15 min, /proc/loadavg) before the runs: %s; after: %s.\n\n", loadBefore, loadAverage())
	fmt.Fprintf(&report, "Small files: %s, distinct names per write, each run at most %d operations or %s; reads cycle over what the write run at the same concurrency stored (so a file is read more than once, likely from the page cache) and check every byte. "+
		"Large files: %s, %d written one after another, then read back (at most %s each way). MB/s = 10^6 bytes/s.\n\n",
		bench.SizeString(small), *maxOps, *duration, bench.SizeString(large), *largeCount, *largeTime)
	report.WriteString(bench.DFSTable(results) + "\n")
	for _, n := range notes {
		report.WriteString(n + "\n\n")
	}
	fmt.Fprint(stdout, report.String())
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "custodes bench dfs:", err)
			return 1
		}
		defer f.Close()
		if _, err := f.WriteString(report.String()); err != nil {
			fmt.Fprintln(stderr, "custodes bench dfs:", err)
			return 1
		}
	}
	return 0
}

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// runBenchSink is `custodes bench sink`: the plain fsyncing file writer
// of the direct baseline (bench.Sink), until SIGINT or SIGTERM.
func runBenchSink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custodes bench sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory the files go to (created if missing)")
	addr := fs.String("http", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "custodes bench sink: --dir is required")
		return 2
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "custodes bench sink:", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "custodes bench sink:", err)
		return 1
	}
	fmt.Fprintf(stdout, "sink listening on http://%s, writing to %s\n", ln.Addr(), *dir)
	srv := &http.Server{Handler: bench.Sink{Dir: *dir}, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
	select {
	case <-stop:
		_ = srv.Close()
		return 0
	case err := <-done:
		fmt.Fprintln(stderr, "custodes bench sink:", err)
		return 1
	}
}
