package storetest

import (
	"container/heap"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Workload generates a stream of realistic X-Ray segment documents in arrival
// order, for benchmarks: compression ratios and write costs depend on what the
// documents look like, so they mimic what the Go, Node and Python SDKs send
// (field order, number formats, the Go SDK's "Dummy":false), with several
// services calling each other and AWS services, random IDs, errors with stack
// traces now and then, and traces whose segments arrive interleaved with other
// traces and spread over time. Documents average about 1.3 KB.
//
// A Workload is deterministic for a seed and not safe for concurrent use.
type Workload struct {
	rnd     *rand.Rand
	ids     *xrayid.Generator
	clock   time.Time // start time of the next trace
	rate    float64   // traces started per second
	pending segmentHeap
	// hosts holds each service's few instances: real fleets run a handful
	// of hosts per service, so host fields repeat across documents.
	hosts map[string][]host
}

// host is one instance a service runs on.
type host struct {
	container, containerID, instanceID, az, pod string
}

// NewWorkload returns a workload whose first trace starts at start, with
// traces starting at about 10,000 per second (three segments each on average).
func NewWorkload(seed uint64, start time.Time) *Workload {
	w := &Workload{
		rnd:   rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		ids:   xrayid.NewGenerator(seed),
		clock: start,
		rate:  10_000,
		hosts: map[string][]host{},
	}
	for _, name := range serviceNames {
		n := 2 + w.pick(5)
		for range n {
			w.hosts[name] = append(w.hosts[name], host{
				container:   "ip-10-0-" + strconv.Itoa(w.pick(16)) + "-" + strconv.Itoa(w.pick(250)) + ".ec2.internal",
				containerID: hexString(w, 32),
				instanceID:  "i-0" + hexString(w, 9)[:17],
				az:          "us-east-1" + string(rune('a'+w.pick(3))),
				pod:         services[name].name + "-7d9f8c6b5-" + hexString(w, 3)[:5],
			})
		}
	}
	return w
}

// serviceNames lists services in a fixed order so that generation does not
// depend on map iteration order.
var serviceNames = []string{"frontend-web", "api-gateway", "catalog-api", "cart-service", "user-profile",
	"checkout-api", "payment-worker", "inventory", "notification-lambda"}

// Next returns the next record to arrive. Its Doc is freshly allocated.
func (w *Workload) Next() store.Record {
	// Keep enough traces in flight that every segment due before the next
	// one out has been generated: nearly every trace emits all its segments
	// within a second of its start.
	for len(w.pending) == 0 || w.pending[0].received > w.clock.UnixNano()-int64(time.Second) {
		w.startTrace()
	}
	p := heap.Pop(&w.pending).(*pendingSegment)
	return store.Record{TraceID: p.trace, ID: p.id, Received: p.received, Doc: p.doc}
}

// Batch returns the next n records as one batch.
func (w *Workload) Batch(n int) *store.Batch {
	b := &store.Batch{Records: make([]store.Record, n)}
	for i := range b.Records {
		b.Records[i] = w.Next()
	}
	return b
}

type pendingSegment struct {
	trace    xrayid.TraceID
	id       xrayid.SegmentID
	received int64
	doc      []byte
}

type segmentHeap []*pendingSegment

func (h segmentHeap) Len() int           { return len(h) }
func (h segmentHeap) Less(i, j int) bool { return h[i].received < h[j].received }
func (h segmentHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *segmentHeap) Push(x any)        { *h = append(*h, x.(*pendingSegment)) }
func (h *segmentHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// startTrace generates every segment of one trace and queues them by arrival.
func (w *Workload) startTrace() {
	gap := w.rnd.ExpFloat64() / w.rate
	w.clock = w.clock.Add(time.Duration(gap * float64(time.Second)))
	t := &traceGen{w: w, id: w.ids.TraceID(w.clock)}
	entry := entryServices[w.pick(len(entryServices))]
	t.segment(entry, 0, float64(w.clock.UnixNano())/1e9, 0)
}

func (w *Workload) pick(n int) int { return w.rnd.IntN(n) }

func (w *Workload) chance(p float64) bool { return w.rnd.Float64() < p }

// traceGen builds the segments of one trace.
type traceGen struct {
	w  *Workload
	id xrayid.TraceID
}
