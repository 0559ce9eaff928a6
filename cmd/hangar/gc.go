package main

import "runtime/debug"

// serverGCPercent is the garbage collector's target (GOGC) of the
// long-running serving commands — `hangar server` and `hangar serve-model`
// — unless the environment's GOGC chooses one. Go's default of 100 lets
// the heap grow to twice what is live before collecting; a scoring server
// allocates a few kilobytes per request (most of it net/http's) over a
// small live heap, so at 100 it collects many times a second, each cycle
// taking a quarter of the CPU it runs on for its marking. 400 (the heap up
// to five times what is live: tens of MB for a server, not GB) cut the
// collections by four and, on one core, raised throughput ≈ 10 % and
// lowered p99 ≈ 0.15 ms (BENCHMARKS.md, "Online scoring").
const serverGCPercent = 400

// tuneGC sets the collector's target of a server and returns it, unless
// GOGC is set: the runtime has applied that already, and -1 is returned.
func tuneGC(getenv env) int {
	if getenv("GOGC") != "" {
		return -1
	}
	debug.SetGCPercent(serverGCPercent)
	return serverGCPercent
}
