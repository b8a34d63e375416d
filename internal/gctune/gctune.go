// Package gctune lets the Go heap grow to a target size before the garbage
// collector runs, instead of to twice the live heap (GOGC=100).
//
// Ingest allocates a lot of short-lived memory (decoded requests, documents,
// summaries) over a live heap that is small next to the memory the server is
// allowed: with GOGC=100 the collector then runs often and marks the same
// live heap each time. After every collection the tuner sets GOGC so that the
// next collection starts when the heap reaches Target:
//
//	GOGC = 100 × (Target − live) / live, within [MinPercent, MaxPercent]
//
// Never below MinPercent (100 by default, the runtime's own default), so
// when the live heap grows towards Target the collector behaves as without
// the tuner; the memory limit (debug.SetMemoryLimit) stays the backstop. The
// same technique is described in Uber's "How We Saved 70K Cores Across 30
// Mission-Critical Services" (https://www.uber.com/blog/how-we-saved-70k-cores-across-30-mission-critical-services/)
// and the Go GC guide (https://go.dev/doc/gc-guide#Memory_limit) explains
// how GOGC and the memory limit combine.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Options configure a Tuner. Target is required.
type Options struct {
	// Target is the heap size, in bytes, at which the next collection
	// should start: live heap plus room for new allocations.
	Target int64
	// MinPercent and MaxPercent bound the GOGC set. Defaults 100 and 1000.
	MinPercent, MaxPercent int
}

// Tuner adjusts GOGC after every garbage collection until Stop.
type Tuner struct {
	opts    Options
	stopped atomic.Bool
	prev    int // GOGC in force before Start
	mu      sync.Mutex
	percent int // GOGC last set (guarded by mu)
	sample  []metrics.Sample
}

// liveMetric is the heap marked live by the last collection.
const liveMetric = "/gc/heap/live:bytes"

// Start begins tuning. It sets GOGC at once from the current live heap, and
// again after each collection.
func Start(opts Options) *Tuner {
	if opts.MinPercent <= 0 {
		opts.MinPercent = 100
	}
	if opts.MaxPercent < opts.MinPercent {
		opts.MaxPercent = max(1000, opts.MinPercent)
	}
	t := &Tuner{opts: opts, sample: []metrics.Sample{{Name: liveMetric}}}
	t.prev = debug.SetGCPercent(opts.MinPercent)
	t.percent = opts.MinPercent
	t.tune()
	t.arm()
	return t
}

// Stop ends tuning and restores the GOGC in force before Start.
func (t *Tuner) Stop() {
	if t.stopped.Swap(true) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	debug.SetGCPercent(t.prev)
}

// Percent is the GOGC the tuner last set.
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// sentinel is garbage from the moment it is made: its finalizer runs after
// the collection that finds it unreachable, which is how the tuner learns
// that a collection has happened.
type sentinel struct{ _ [16]byte } // not zero-sized: those may share an address and never be finalized

func (t *Tuner) arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		if t.stopped.Load() {
			return
		}
		t.tune()
		t.arm()
	})
}

// tune sets GOGC from the live heap the last collection marked.
func (t *Tuner) tune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return // not reported by this runtime: keep what is set
	}
	p := Percent(int64(t.sample[0].Value.Uint64()), t.opts)
	if p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
}

// Percent is the GOGC that makes the next collection start at opts.Target
// for a live heap of live bytes, within opts' bounds (MinPercent and
// MaxPercent of 0 read as their defaults).
func Percent(live int64, opts Options) int {
	lo, hi := opts.MinPercent, opts.MaxPercent
	if lo <= 0 {
		lo = 100
	}
	if hi < lo {
		hi = max(1000, lo)
	}
	if live <= 0 {
		return hi
	}
	if live >= opts.Target {
		return lo
	}
	p := (opts.Target - live) * 100 / live
	return int(min(max(p, int64(lo)), int64(hi)))
}
