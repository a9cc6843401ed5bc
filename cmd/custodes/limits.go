package main

import (
	"flag"

	"github.com/custodes/custodes/agent"
)

// limitFlags binds the flags that keep one agent serving everyone when
// some clients are slow, hold connections or write too much
// (docs/ARCHITECTURE.md, Limits). The defaults never bite normal use.
func limitFlags(fs *flag.FlagSet, cfg *agent.Config) {
	h, l := &cfg.HTTP, &cfg.API.Limits
	fs.DurationVar(&h.ReadHeaderTimeout, "http-read-header-timeout", h.ReadHeaderTimeout, "cut a client that has not sent a request's headers within this")
	fs.DurationVar(&h.ReadTimeout, "http-read-timeout", h.ReadTimeout, "cut a client that has not sent a whole request within this")
	fs.DurationVar(&l.WriteTimeout, "http-write-timeout", l.WriteTimeout, "cut a client that has not read an answer within this (blocking queries and event streams extend theirs; 0: none)")
	fs.DurationVar(&h.IdleTimeout, "http-idle-timeout", h.IdleTimeout, "close keep-alive connections idle for this long")
	fs.IntVar(&h.MaxHeaderBytes, "max-header-bytes", h.MaxHeaderBytes, "largest request headers accepted (431 beyond)")
	fs.IntVar(&h.MaxConnections, "max-connections", h.MaxConnections, "HTTP connections open at once; more are answered 503 and closed (0: unlimited)")
	fs.IntVar(&l.MaxWatchers, "max-watchers", l.MaxWatchers, "blocking queries and event streams open at once; more are answered 429 (0: unlimited)")
	fs.Float64Var(&l.WriteRate, "write-rate", l.WriteRate, "writes per second per client (token, else address) on this agent; more are answered 429 (0: off)")
	fs.IntVar(&l.WriteBurst, "write-burst", l.WriteBurst, "writes a client may send at once above --write-rate (0: twice the rate)")
	fs.Int64Var(&cfg.Cluster.MaxSnapshotBytes, "max-snapshot-bytes", cfg.Cluster.MaxSnapshotBytes, "largest snapshot archive a restore takes, compressed and decompressed alike (413 beyond; 0: 16 GiB)")
}
