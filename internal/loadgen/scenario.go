package loadgen

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Scenario generates traces.
//
// Trace(i, start) is a pure function of (the scenario's seed, i, start): the
// same inputs give the same bytes, on any machine, in any order and from any
// goroutine, so one scenario may be shared by concurrent senders and a test
// can regenerate exactly what a load run sent.
type Scenario interface {
	Name() string
	// Trace returns trace number i (i >= 0), whose first request reaches the
	// traced system at start.
	Trace(i int, start time.Time) Trace
}

// Grouped is implemented by scenarios whose traces come in groups caused by
// one event, such as one S3 upload fanning out to three Lambda functions.
// Run gives every trace of a group the same start time.
type Grouped interface {
	GroupSize() int
}

// Trace is the documents of one trace, in the order the real system would
// send them (children usually before their parents, as SDKs send a
// segment when it closes).
type Trace struct {
	ID   xrayid.TraceID
	Docs []Doc
}

// Doc is one segment document as it would be sent.
type Doc struct {
	// At is when the real system would emit it; never before the trace's
	// start, and non-decreasing within a Trace.
	At time.Time
	// JSON is the document, without the UDP header line. It is at most
	// MaxDocSize bytes.
	JSON []byte
}

// MaxDocSize is the largest document a scenario produces: X-Ray's 64 KiB
// limit, which is also the daemon's UDP buffer.
const MaxDocSize = 64 * 1024

// Names lists the scenarios New accepts.
func Names() []string {
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

var scenarios = map[string]func(seed uint64) (Scenario, error){
	"seed":  newSeedScenario,
	"large": newLargeScenario,
}

// New returns the named scenario with the given seed.
func New(name string, seed uint64) (Scenario, error) {
	f, ok := scenarios[name]
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return f(seed)
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// builder collects the documents of one trace and serializes them in
// emission order into one buffer.
type builder struct {
	trace   xrayid.TraceID
	pending []pendingDoc
}

type pendingDoc struct {
	at   int64
	e    *entity
	d    dialect
	mode docMode
}

func (b *builder) emit(at int64, e *entity, d dialect, mode docMode) {
	b.pending = append(b.pending, pendingDoc{at: at, e: e, d: d, mode: mode})
}

func (b *builder) finish() Trace {
	// Stable: documents emitted at the same instant keep the order the
	// scenario produced them in.
	slices.SortStableFunc(b.pending, func(x, y pendingDoc) int {
		switch {
		case x.at < y.at:
			return -1
		case x.at > y.at:
			return 1
		}
		return 0
	})
	// Write into a pooled scratch buffer, then copy once into a buffer of
	// the exact size: growing the result in place would allocate several
	// times per trace.
	scratch := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(scratch)
	w := (*scratch)[:0]
	ends := make([]int, len(b.pending))
	for k, p := range b.pending {
		w = appendDoc(w, p.e, p.d, b.trace, p.mode)
		ends[k] = len(w)
	}
	*scratch = w
	buf := bytes.Clone(w)
	t := Trace{ID: b.trace, Docs: make([]Doc, len(b.pending))}
	begin := 0
	for k, p := range b.pending {
		// Full slice expressions: appending to one Doc must never
		// overwrite the next.
		t.Docs[k] = Doc{At: time.Unix(0, p.at), JSON: buf[begin:ends[k]:ends[k]]}
		begin = ends[k]
	}
	return t
}
