// Package summarize keeps every trace's summary up to date as its documents
// arrive: the write side of the pipeline (package assemble is the read side,
// docs/architecture.md). It runs inside the ingest pipeline's writer (as its
// Observer): for each batch it rebuilds the summaries of the traces the batch
// touches and adds them, with their new index terms, to the same store batch,
// so a trace's documents and its summary become durable together.
//
// It also derives the trace's service-graph counters (package graph): each
// revision's contributions replace the previous revision's, as deltas added
// to the same batch, for the Default group and every group the trace
// matches.
//
// Recent traces stay in memory (their decoded documents, without the raw
// bytes). A trace that has been quiet is evicted; when a late document
// arrives for it, its documents are read back from the store and the
// summary continues from the stored revision.
package summarize

import (
	"container/list"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Options bounds the memory the summarizer uses. Zero values take defaults.
type Options struct {
	// MaxEntities caps the segments and subsegments held in memory across
	// all recent traces. Default 50,000 (an entity takes about 1 KB with
	// its share of its trace's derived state).
	MaxEntities int
	// IdleTimeout evicts traces that received nothing for this long.
	// Default 30 seconds: most traces are complete within a second or two.
	IdleTimeout time.Duration
	// MaxDocumentsInMemory: a trace with more documents is summarized and
	// then dropped from memory after each batch (and reloaded on the next),
	// so one huge trace cannot take the memory of thousands. Default 5,000.
	MaxDocumentsInMemory int
	Now                  func() time.Time
	// Groups picks the groups (besides Default) whose service-graph
	// counters a trace counts in; nil counts every trace in Default only.
	Groups GroupMatcher
}

// GroupMatcher returns the groups (their counter names, see
// groups.Registry.Match) whose filter expression matches a summary. It is
// called from the pipeline's writer goroutine while groups may change.
type GroupMatcher interface {
	Match(s *summary.Summary) []string
}

func (o *Options) setDefaults() {
	if o.MaxEntities <= 0 {
		o.MaxEntities = 50_000
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.MaxDocumentsInMemory <= 0 {
		o.MaxDocumentsInMemory = 5000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Reader is what the summarizer reads back from the store to resume a trace
// that left memory.
type Reader interface {
	store.Reader
	store.SummaryReader
}

// Summarizer implements ingest.Observer. It is not safe for concurrent use:
// the pipeline calls it from its single writer goroutine.
type Summarizer struct {
	st Reader
	// edges: the store pushes edge conditions down, so SummaryFields.Edges
	// are worth building (edges.go).
	edges bool
	// allNames: the store pushes service conditions down, so Services
	// hold every name of every node (ServiceNames); else the primary
	// names, which cost less (Pebble ignores them).
	allNames bool
	// index is which terms the store is given (index.For): the planner
	// reading it asks the same.
	index index.Policy
	opts  Options
	log   *slog.Logger

	traces   map[xrayid.TraceID]*trace
	lru      list.List // of *trace, least recently touched at the front
	entities int

	builder summary.Builder
	// contrib computes graph contributions in memory it recycles at the
	// start of every batch: what it returns lives until then (the batch's
	// deltas may share its values), and a trace keeps its own copy.
	contrib graph.Contributor
	next    []graph.Contribution
	// encoded holds the batch's encoded summaries, back to back: the
	// batch's records point into it until the next batch.
	encoded []byte
	// deltas is the memory of the batch's graph deltas, reused likewise.
	deltas []store.GraphDelta
	// names holds the batch's SummaryFields string lists, back to back,
	// reused likewise.
	names []string
	dec   *segment.Decoder
	terms []store.Term
	// tree is the resolved trace of the last Build, for its profile.
	tree    []summary.TreeEntity
	touched []*trace

	reloads, evictions, summariesWritten *metrics.Counter
	// inMemory is len(traces) for the metrics goroutine, which must not
	// read the map the writer changes.
	inMemory atomic.Int64
}

type trace struct {
	id       xrayid.TraceID
	docs     []summary.Doc
	entities int
	// written are the index terms already stored for the trace, sorted.
	written  []store.Term
	end      int64 // End of the last stored revision (0: none yet)
	revision uint32
	touched  time.Time
	elem     *list.Element
	inBatch  bool
	// graph is what the last stored revision added to the service-graph
	// counters; its Values are slices of graphVals.
	graph     []graph.Contribution
	graphVals []store.Counter
	// prof is what the last stored revision added to the profile
	// counters (package profile); never modified, deltas may share it.
	prof []graph.Contribution
}

// New returns a summarizer that resumes evicted traces from st.
func New(st Reader, opts Options, ms *metrics.Set, log *slog.Logger) *Summarizer {
	opts.setDefaults()
	s := &Summarizer{
		st: st, opts: opts, log: log,
		traces:           map[xrayid.TraceID]*trace{},
		dec:              segment.NewDecoder(0),
		reloads:          ms.GetOrCreateCounter(`counterspy_summarizer_trace_reloads_total`),
		evictions:        ms.GetOrCreateCounter(`counterspy_summarizer_trace_evictions_total`),
		summariesWritten: ms.GetOrCreateCounter(`counterspy_summarizer_summaries_written_total`),
	}
	s.edges = pushesEdges(st)
	s.allNames = pushes(st, store.FieldService)
	s.index = index.For(st)
	ms.NewGauge(`counterspy_summarizer_traces_in_memory`, func() float64 { return float64(s.inMemory.Load()) })
	registerAssemblerNames(ms, s)
	return s
}

// Observe adds the new summary revision of every trace in segs to b.
// b.Records[i] is segs[i]'s record (the pipeline builds them in order).
// What it adds to b shares memory the next call reuses: b must be written
// (or dropped) before Observe is called again, as the pipeline does.
func (s *Summarizer) Observe(segs []segment.Segment, b *store.Batch) error {
	now := s.opts.Now()
	// The previous batch is written: what the contributor returned for it
	// is no longer used.
	s.contrib.Reset()
	if cap(s.encoded) > 16<<20 {
		s.encoded = nil // let a batch of unusually large summaries go
	}
	s.encoded = s.encoded[:0]
	clear(s.names)
	if cap(s.names) > 1<<16 {
		s.names = nil
	}
	s.names = s.names[:0]
	clear(s.deltas)
	if cap(s.deltas) > 1<<20 {
		s.deltas = nil
	}
	b.Graph = append(s.deltas[:0], b.Graph...)
	s.touched = s.touched[:0]
	var errs []error
	// One store round trip for every trace of the batch that is not in
	// memory, not one per trace (prefetch.go); a trace it could not load
	// is tried again, alone, below.
	s.prefetch(segs)
	for i := range segs {
		seg := &segs[i]
		tr, err := s.trace(seg.TraceID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d := *seg
		d.Raw = nil // the store keeps the bytes; memory keeps the digest
		tr.docs = append(tr.docs, summary.Doc{Seg: &d, Received: b.Records[i].Received})
		tr.entities += len(d.Entities)
		s.entities += len(d.Entities)
		if !tr.inBatch {
			tr.inBatch = true
			s.touched = append(s.touched, tr)
		}
	}
	for _, tr := range s.touched {
		tr.inBatch = false
		tr.touched = now
		s.lru.MoveToBack(tr.elem)
		b.Summaries = append(b.Summaries, s.summarize(tr, b))
		if len(tr.docs) > s.opts.MaxDocumentsInMemory {
			s.evict(tr)
		}
	}
	// Traces of one batch share most of their keys (same minute, same
	// services): write each once.
	b.Graph = graph.MergeDeltas(b.Graph)
	s.deltas = b.Graph
	s.summariesWritten.Add(len(s.touched))
	s.evictIdle(now)
	s.inMemory.Store(int64(len(s.traces)))
	if len(errs) > 0 {
		return fmt.Errorf("summarize: %d of %d documents without a summary update: %w", len(errs), len(segs), errs[0])
	}
	return nil
}

// Discard tells the summarizer that the batch it last observed was not
// written. Its traces leave memory, so that the next document of each
// resumes from what the store holds: their in-memory documents, revision
// and graph contributions included the lost batch, and deltas computed
// from them would count what was never stored, or miss what was.
func (s *Summarizer) Discard() {
	for _, tr := range s.touched {
		if s.traces[tr.id] == tr { // not already evicted by Observe
			s.evict(tr)
		}
	}
	s.touched = s.touched[:0]
	s.inMemory.Store(int64(len(s.traces)))
}

// summarize builds the trace's next revision and the terms it adds, and
// adds the revision's service-graph deltas to b.
func (s *Summarizer) summarize(tr *trace, b *store.Batch) store.SummaryRecord {
	sum := s.builder.Build(tr.id, tr.docs, tr.revision)
	tr.revision = sum.Revision
	s.terms = s.index.Terms(sum, s.terms)
	var fresh []store.Term
	for _, t := range s.terms {
		if _, ok := slices.BinarySearch(tr.written, t); !ok {
			fresh = append(fresh, t)
		}
	}
	if len(fresh) > 0 {
		tr.written = append(tr.written, fresh...)
		slices.Sort(tr.written)
	}
	start := len(s.encoded)
	s.encoded = sum.AppendBinary(s.encoded)
	enc := s.encoded[start:len(s.encoded):len(s.encoded)]
	rec := store.SummaryRecord{TraceID: tr.id, End: endSecond(sum), PrevEnd: tr.end, Summary: enc, Terms: fresh, Fields: s.fields(sum)}
	tr.end = rec.End
	next := s.contributions(sum)
	// Deltas never share the old contributions' values, so the trace's
	// memory for them is reused for the copy of the new ones.
	b.Graph = graph.AppendDiff(b.Graph, tr.graph, next)
	tr.keepGraph(next)
	prof := s.profile()
	b.Graph = graph.AppendDiff(b.Graph, tr.prof, prof)
	tr.prof = prof
	return rec
}

// fields are the summary's plain values for the store; its string lists
// live in s.names until the next batch.
func (s *Summarizer) fields(sum *summary.Summary) store.SummaryFields {
	var f store.SummaryFields
	f, s.names = fields(sum, s.names, s.edges, s.allNames)
	return f
}

// Fields returns a summary's plain values for the store
// (store.SummaryFields), its string lists appended to names (returned
// grown), which they share.
func Fields(sum *summary.Summary, names []string) (store.SummaryFields, []string) {
	return fields(sum, names, true, true)
}

// fields is Fields, with the edges only when edges is set, and every name
// of every node (else primary names) only when allNames is.
func fields(sum *summary.Summary, names []string, edges, allNames bool) (store.SummaryFields, []string) {
	f := store.SummaryFields{
		Duration: sum.Duration, ResponseTime: sum.ResponseTime,
		Fault: sum.HasFault, Error: sum.HasError, Throttle: sum.HasThrottle, Partial: sum.IsPartial, Inferred: sum.HasInferred,
		HTTPStatus: sum.HTTP.Status, HTTPMethod: sum.HTTP.Method, HTTPURL: sum.HTTP.URL,
	}
	// Every name a node is matched by (service() and edge() match its
	// name and its other names), each once: a store may then answer
	// service("x") from them alone (ServiceNames).
	start := len(names)
	for i := range sum.Nodes {
		n := &sum.Nodes[i]
		for j := -1; j < len(n.Names) && (j < 0 || allNames); j++ {
			if name, ok := nameAt(n, j); ok {
				names = append(names, name)
			}
		}
	}
	if allNames {
		// Sorted, so that many nodes cost n log n (and compress well).
		slices.Sort(names[start:])
		names = names[:start+len(slices.Compact(names[start:]))]
	}
	f.Services, f.ServiceNames = names[start:len(names):len(names)], allNames
	if allNames {
		f.ServiceFlags, f.HasServiceFlags = serviceFlags(sum), true
	}
	start = len(names)
	for i := range sum.Annotations {
		// Annotations are distinct (key, value) pairs: a key may repeat.
		if k := sum.Annotations[i].Key; !slices.Contains(names[start:], k) {
			names = append(names, k)
		}
	}
	f.AnnotationKeys = names[start:len(names):len(names)]
	if edges {
		f.Edges, f.HasEdges = edgeFields(sum), true
	}
	return f, names
}

// profile is what the revision the builder last built adds to the profile
// counters.
func (s *Summarizer) profile() []graph.Contribution {
	s.tree = s.builder.Tree(s.tree[:0])
	p := profile.Contributions(s.tree)
	clear(s.tree) // let go of the documents
	return p
}

// contributions is what a revision adds to the service-graph counters. The
// result is valid until the contributor's next Reset.
func (s *Summarizer) contributions(sum *summary.Summary) []graph.Contribution {
	var groups []string
	if s.opts.Groups != nil {
		groups = s.opts.Groups.Match(sum)
	}
	s.next = s.contrib.Append(s.next[:0], sum, groups)
	return s.next
}

// keepGraph makes cs (the contributor's, valid for this batch only) the
// trace's graph, copied into the trace's own memory.
func (tr *trace) keepGraph(cs []graph.Contribution) {
	n := 0
	for i := range cs {
		n += len(cs[i].Values)
	}
	vals := tr.graphVals[:0]
	if cap(vals) < n {
		vals = make([]store.Counter, 0, n)
	}
	out := tr.graph[:0]
	if cap(out) < len(cs) {
		out = make([]graph.Contribution, 0, len(cs))
	}
	for _, c := range cs {
		start := len(vals)
		vals = append(vals, c.Values...)
		c.Values = vals[start:len(vals):len(vals)]
		out = append(out, c)
	}
	tr.graph, tr.graphVals = out, vals
}

// endSecond is the trace's last activity as a whole second: the latest end
// (or start, while in progress) of any entity, never before its start.
func endSecond(sum *summary.Summary) int64 {
	end := max(sum.End, sum.Start)
	if math.IsNaN(end) || end < 0 {
		return 0
	}
	return int64(min(end, math.MaxUint32))
}

// trace returns the in-memory state of id: new, resumed from the store, or
// already recent.
func (s *Summarizer) trace(id xrayid.TraceID) (*trace, error) {
	if tr, ok := s.traces[id]; ok {
		return tr, nil
	}
	tr := &trace{id: id}
	if err := s.resume(tr); err != nil {
		return nil, err
	}
	tr.elem = s.lru.PushBack(tr)
	s.traces[id] = tr
	return tr, nil
}

// evictIdle drops traces idle for longer than IdleTimeout, and the least
// recently touched ones while memory is over its bound.
func (s *Summarizer) evictIdle(now time.Time) {
	for e := s.lru.Front(); e != nil; e = s.lru.Front() {
		tr := e.Value.(*trace)
		if now.Sub(tr.touched) < s.opts.IdleTimeout && s.entities <= s.opts.MaxEntities {
			return
		}
		s.evict(tr)
	}
}

func (s *Summarizer) evict(tr *trace) {
	s.lru.Remove(tr.elem)
	delete(s.traces, tr.id)
	s.entities -= tr.entities
	s.evictions.Inc()
}
