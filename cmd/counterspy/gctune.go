package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"

	"github.com/counterspy/counterspy/internal/gctune"
)

// gcTargetShare is the share of the memory limit the Go heap may grow to
// before a collection while the live heap is small (internal/gctune). Under
// the Jaeger tracegen load (docs/benchmarks.md) the live heap is about
// 90 MiB: GOGC=100 collects at ~180 MiB, this at 256 MiB of the default
// 512 MiB limit, with Pebble's cache and memtables, outside the Go heap, on
// top.
const gcTargetShare = 0.5

// tuneGC starts the GC tuner unless GOGC is set (the runtime's own setting
// wins) or there is no memory limit to size the target from. It returns a
// function that stops it.
func tuneGC(log *slog.Logger) (stop func()) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Debug("GOGC is set: the GC tuner is off", "GOGC", v)
		return func() {}
	}
	limit := debug.SetMemoryLimit(-1)
	if limit <= 0 || limit == math.MaxInt64 {
		return func() {}
	}
	t := gctune.Start(gctune.Options{Target: int64(float64(limit) * gcTargetShare)})
	return t.Stop
}
