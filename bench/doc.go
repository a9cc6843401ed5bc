// Package bench measures a running custodes cluster from the outside, over
// HTTP only: registration and lookup throughput with latency percentiles at
// several concurrencies, through a follower and through the leader; leader
// failover time, dead-agent detection time and the time from a service's
// /alive failing to lookups excluding it. `custodes bench` runs it and
// `make bench` writes docs/BENCHMARKS.md. It is a tool, not a test: it
// asserts nothing and reports every error it saw.
package bench
