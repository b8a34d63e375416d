// Package storeload is the store benchmarks' workload: loadgen's
// documents as store batches in arrival order, and the summaries and index
// terms the summarizer would send with them. (The conformance suite is
// storetest.)
package storeload

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

// Workload is a stream of store records in arrival order, for benchmarks:
// the documents of the loadgen "large" scenario (a ~30-service shop, as the
// Go, Node and Python SDKs and AWS services write them; documents average
// about 1.3 KB), with traces starting at random times at a given rate and
// their documents arriving interleaved with other traces'. Compression
// ratios and write costs depend on what the documents look like, so the
// store benchmarks use the same generator as load runs and the graph
// benchmarks.
//
// A Workload is deterministic for a seed and not safe for concurrent use.
type Workload struct {
	sc      loadgen.Scenario
	rnd     *rand.Rand
	dec     *segment.Decoder
	segs    []segment.Segment
	next    int       // number of the next trace
	clock   time.Time // start time of the next trace
	rate    float64   // traces started per second
	pending recordHeap
	seq     uint64 // arrival tie-break: generation order
}

// NewWorkload returns a workload whose first trace starts at start, with
// traces starting at about 10,000 per second.
func NewWorkload(seed uint64, start time.Time) *Workload {
	sc, err := loadgen.New("large", seed)
	if err != nil {
		panic(fmt.Sprintf("storeload: loadgen scenario: %v", err)) // "large" always exists
	}
	return &Workload{
		sc:    sc,
		rnd:   rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		dec:   segment.NewDecoder(0),
		clock: start,
		rate:  10_000,
	}
}

// Next returns the next record to arrive. Its Doc is not shared with any
// other record.
func (w *Workload) Next() store.Record {
	// Keep enough traces in flight that every document due before the next
	// one out has been generated: a trace's documents never arrive before
	// its start, and later traces start after the clock.
	for len(w.pending) == 0 || w.pending[0].Received > w.clock.UnixNano()-int64(time.Second) {
		w.startTrace()
	}
	return heap.Pop(&w.pending).(pendingRecord).Record
}

// Batch returns the next n records as one batch.
func (w *Workload) Batch(n int) *store.Batch {
	b := &store.Batch{Records: make([]store.Record, n)}
	for i := range b.Records {
		b.Records[i] = w.Next()
	}
	return b
}

// startTrace generates the next trace and queues its documents by arrival.
func (w *Workload) startTrace() {
	gap := w.rnd.ExpFloat64() / w.rate
	w.clock = w.clock.Add(time.Duration(gap * float64(time.Second)))
	tr := w.sc.Trace(w.next, w.clock)
	w.next++
	for k, d := range tr.Docs {
		segs, err := w.dec.Decode(w.segs[:0], d.JSON)
		if err != nil || len(segs) != 1 {
			// loadgen's own tests decode every document it writes.
			panic(fmt.Sprintf("storeload: loadgen trace %d document %d: %v (%d segments)", w.next-1, k, err, len(segs)))
		}
		w.segs = segs
		s := &segs[0]
		w.seq++
		heap.Push(&w.pending, pendingRecord{
			Record: store.Record{TraceID: s.TraceID, ID: s.ID(), Received: d.At.UnixNano(), Doc: d.JSON},
			seq:    w.seq,
		})
	}
}

type pendingRecord struct {
	store.Record
	seq uint64
}

type recordHeap []pendingRecord

func (h recordHeap) Len() int { return len(h) }
func (h recordHeap) Less(i, j int) bool {
	if h[i].Received != h[j].Received {
		return h[i].Received < h[j].Received
	}
	return h[i].seq < h[j].seq
}
func (h recordHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *recordHeap) Push(x any)   { *h = append(*h, x.(pendingRecord)) }
func (h *recordHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
