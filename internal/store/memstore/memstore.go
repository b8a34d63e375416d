// Package memstore is the in-memory reference backend of the store.Store
// contract (internal/store/store.go): maps and sorted slices under one
// mutex, written to be obviously correct rather than fast or small. It is
// the proof that the contract is backend-neutral (it passes the conformance
// suite in package storetest without knowing anything of Pebble) and a fast
// store for tests. Nothing survives the process.
//
// The contents live in a Data value, separate from the Store handle: closing
// a Store and opening another on the same Data is this backend's "reopen",
// which is how the suite's reopen cases see their data again.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Options configure a Data. Zero values take defaults.
type Options struct {
	// EpochPast and EpochFuture bound the plausible start of a trace
	// relative to its first arrival (store.Retention); defaults
	// store.DefaultEpochPast and DefaultEpochFuture, as in the Pebble
	// backend, so that both place the same traces the same way.
	EpochPast, EpochFuture time.Duration
}

// scanPage is how many summary rows a scan copies per hold of the lock, so
// that a scan's memory does not grow with the number of rows ("Scans
// stream") and writers are not held off for a whole scan.
const scanPage = 256

// Data is what a memory store holds. It outlives the Stores opened on it.
// The zero value is not usable; call NewData.
type Data struct {
	mu sync.Mutex

	// traces holds every trace with a record or a summary.
	traces map[xrayid.TraceID]*trace
	// records counts the documents in traces (Stats.Records).
	records int64
	// byStart and byEnd are the positions of the traces that have a
	// summary, ascending: the two orders of SummaryScan.
	byStart, byEnd posIndex
	// terms maps an index term to the traces indexed under it.
	terms map[store.Term]map[xrayid.TraceID]struct{}

	// graph holds, per group and minute, the summed counters of each key:
	// the per-(Group, Minute, Key) element-wise sum of GraphDelta.
	graph map[string]map[int64]map[string]map[uint32]float64

	// logLines are the stored log lines ordered by Time, lines of equal
	// Time in write order (LogReader.Logs).
	logLines []logs.Record

	meta map[string][]byte

	epochPast, epochFuture int64 // seconds

	// fault, if set, is asked before every Write is applied (a test hook,
	// SetWriteFault).
	fault func(*store.Batch) error
}

// SetWriteFault makes every later Write call f with the batch after
// checking it and before applying it, and fail with f's error, storing
// nothing, when it returns one; nil removes the hook. It is how tests fail
// a write "halfway" on this backend: nothing can fail once a Write starts
// applying, so the last point a real failure could strike is before that.
func (d *Data) SetWriteFault(f func(*store.Batch) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fault = f
}

// trace is one trace ID's records and summary.
type trace struct {
	// sec is the placement second: the ID's epoch, or the first arrival
	// for an implausible epoch. It is fixed when the trace is first
	// written and decides ByStart order and DropBefore.
	sec int64
	// recs are the records in write order (Trace.Records sorts them by
	// Received, stably, when read).
	recs []store.Record
	// summary is the latest summary (nil: none written yet) and end its
	// End; terms every term ever written for the trace.
	summary []byte
	end     int64
	terms   map[store.Term]struct{}
	// fields are the latest summary's SummaryFields (slices copied), for
	// SummaryScan.Where.
	fields store.SummaryFields
}

// NewData returns empty contents with the default options.
func NewData() *Data { return NewDataWith(Options{}) }

// NewDataWith returns empty contents.
func NewDataWith(o Options) *Data {
	if o.EpochPast <= 0 {
		o.EpochPast = store.DefaultEpochPast
	}
	if o.EpochFuture <= 0 {
		o.EpochFuture = store.DefaultEpochFuture
	}
	return &Data{
		traces:      map[xrayid.TraceID]*trace{},
		terms:       map[store.Term]map[xrayid.TraceID]struct{}{},
		graph:       map[string]map[int64]map[string]map[uint32]float64{},
		meta:        map[string][]byte{},
		epochPast:   int64(o.EpochPast / time.Second),
		epochFuture: int64(o.EpochFuture / time.Second),
	}
}

// Store is a handle on a Data; it implements store.Store.
type Store struct {
	d      *Data
	closed atomic.Bool
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.Atomic        = (*Store)(nil)
	_ store.TermEstimator = (*Store)(nil)
	_ store.PushDown      = (*Store)(nil)
)

// AtomicWrites declares that a failed Write stores nothing (store.Atomic).
func (s *Store) AtomicWrites() {}

// New returns a store with new, empty contents.
func New() *Store { return Open(NewData()) }

// Open returns a store on d: it sees everything written through earlier
// handles on d, closed or not.
func Open(d *Data) *Store { return &Store{d: d} }

// Data returns the contents s works on, to Open them again after Close.
func (s *Store) Data() *Data { return s.d }

// Close marks the handle closed: every later call returns store.ErrClosed.
// The Data stays as it is. Closing twice is not an error.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// check returns ErrClosed or the context's error, the two reasons every
// operation refuses to start.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("memstore: %w", store.ErrClosed)
	}
	return ctx.Err()
}

// Write applies b atomically: it is checked whole first, then applied under
// the lock in one step, so a failed Write stores nothing of b (the strongest
// reading of the contract's "nothing in b may be assumed stored") and a
// successful one is visible to every later read. "Durable" here means for
// the life of the Data.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	// Write refuses a NaN or infinite counter (GraphDelta), naming the key.
	for _, g := range b.Graph {
		for _, c := range g.Values {
			if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
				return fmt.Errorf("memstore: graph key %q, group %q, minute %d: counter %d is %v, not a finite number",
					g.Key, g.Group, g.Minute, c.Index, c.Value)
			}
		}
	}
	now := time.Now().UnixNano()
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fault != nil {
		if err := d.fault(b); err != nil {
			return fmt.Errorf("memstore: %w", err)
		}
	}

	// Records. A trace first seen in this batch is placed by the earliest
	// arrival of its records in the batch.
	arrival := map[xrayid.TraceID]int64{}
	for _, r := range b.Records {
		a := arrivalSec(r.Received, now)
		if prev, ok := arrival[r.TraceID]; !ok || a < prev {
			arrival[r.TraceID] = a
		}
	}
	for _, r := range b.Records {
		t := d.traceLocked(r.TraceID, arrival[r.TraceID])
		r.Doc = bytes.Clone(r.Doc) // Write must not retain b's slices
		if r.Doc == nil {
			r.Doc = []byte{}
		}
		t.recs = append(t.recs, r)
		d.records++
	}

	// Summaries: the later revision replaces the summary and moves the
	// ByEnd entry; terms only accumulate. The previous End is the one
	// stored here, not PrevEnd, which is only the writer's hint.
	for _, sr := range b.Summaries {
		t := d.traceLocked(sr.TraceID, arrivalSec(0, now)) // a summary before any record: placed now
		pos := store.Position{Sec: t.sec, TraceID: sr.TraceID}
		if t.summary == nil {
			d.byStart.insert(pos)
		} else {
			d.byEnd.remove(store.Position{Sec: t.end, TraceID: sr.TraceID})
		}
		t.summary = bytes.Clone(sr.Summary)
		if t.summary == nil {
			t.summary = []byte{}
		}
		t.end = sr.End
		t.fields = cloneFields(sr.Fields)
		d.byEnd.insert(store.Position{Sec: t.end, TraceID: sr.TraceID})
		for _, term := range sr.Terms {
			if t.terms == nil {
				t.terms = map[store.Term]struct{}{}
			}
			t.terms[term] = struct{}{}
			set := d.terms[term]
			if set == nil {
				set = map[xrayid.TraceID]struct{}{}
				d.terms[term] = set
			}
			set[sr.TraceID] = struct{}{}
		}
	}

	// Graph counters: sums per (group, minute, key); a counter whose sum
	// comes to zero is deleted, and a key with none left, so that "a key
	// whose deltas cancelled out is as if never written".
	for _, g := range b.Graph {
		minutes := d.graph[g.Group]
		if minutes == nil {
			minutes = map[int64]map[string]map[uint32]float64{}
			d.graph[g.Group] = minutes
		}
		keys := minutes[g.Minute]
		if keys == nil {
			keys = map[string]map[uint32]float64{}
			minutes[g.Minute] = keys
		}
		vals := keys[g.Key]
		if vals == nil {
			vals = map[uint32]float64{}
			keys[g.Key] = vals
		}
		for _, c := range g.Values {
			if v := vals[c.Index] + c.Value; v != 0 {
				vals[c.Index] = v
			} else {
				delete(vals, c.Index)
			}
		}
		if len(vals) == 0 {
			delete(keys, g.Key)
		}
		if len(keys) == 0 {
			delete(minutes, g.Minute)
		}
		if len(minutes) == 0 {
			delete(d.graph, g.Group)
		}
	}

	// Log lines, kept in (Time, write order): each goes after every stored
	// line of the same or an earlier Time. A line with no TraceID,
	// RequestID or Function can never be found, so it is not kept.
	for _, l := range b.Logs {
		if l.TraceID == "" && l.RequestID == "" && l.Function == "" {
			continue
		}
		l.Time = clampTime(l.Time)
		i := sort.Search(len(d.logLines), func(i int) bool { return d.logLines[i].Time.After(l.Time) })
		d.logLines = slices.Insert(d.logLines, i, l)
	}
	return nil
}

// cloneFields copies f's slices: Write must not retain b's.
func cloneFields(f store.SummaryFields) store.SummaryFields {
	f.Services = slices.Clone(f.Services)
	f.AnnotationKeys = slices.Clone(f.AnnotationKeys)
	f.Edges = slices.Clone(f.Edges)
	return f
}

// traceLocked returns the trace id, creating it placed at its epoch if
// that is plausible relative to arrival (seconds), else at arrival. The
// caller holds d.mu.
func (d *Data) traceLocked(id xrayid.TraceID, arrival int64) *trace {
	if t := d.traces[id]; t != nil {
		return t
	}
	sec := arrival
	if e := int64(id.Epoch()); e >= arrival-d.epochPast && e <= arrival+d.epochFuture {
		sec = e
	}
	t := &trace{sec: sec}
	d.traces[id] = t
	return t
}

// arrivalSec is the second a record arrived: its Received, except that an
// unset or future Received means now (a server cannot receive something in
// the future), as in the Pebble backend.
func arrivalSec(received, now int64) int64 {
	if received <= 0 || received > now {
		received = now
	}
	return received / int64(time.Second)
}

// Log times are kept "within the int64 range of Unix nanoseconds (...
// others are clamped to it)", in UTC (LogReader).
var (
	minLogTime = time.Unix(0, math.MinInt64).UTC()
	maxLogTime = time.Unix(0, math.MaxInt64).UTC()
)

func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minLogTime):
		return minLogTime
	case t.After(maxLogTime):
		return maxLogTime
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

// DropBefore removes the traces placed before cutoff (with their records,
// summaries, terms and ByEnd entries), the graph minutes that ended before
// it, and the log lines older than it; meta values stay. Memory has no
// partitions, so the drop is exact: nothing before cutoff survives and
// nothing at or after it goes.
func (s *Store) DropBefore(ctx context.Context, cutoff time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, t := range d.traces {
		if !time.Unix(t.sec, 0).Before(cutoff) {
			continue
		}
		d.records -= int64(len(t.recs))
		if t.summary != nil {
			d.byStart.remove(store.Position{Sec: t.sec, TraceID: id})
			d.byEnd.remove(store.Position{Sec: t.end, TraceID: id})
		}
		for term := range t.terms {
			delete(d.terms[term], id)
			if len(d.terms[term]) == 0 {
				delete(d.terms, term)
			}
		}
		delete(d.traces, id)
	}
	// Minute m ends at (m+1)*60 s: it ended before cutoff when m+1 <=
	// floor(cutoff / 60 s).
	endMinute := floorDiv(cutoff.Unix(), 60)
	for g, minutes := range d.graph {
		for m := range minutes {
			if m < endMinute {
				delete(minutes, m)
			}
		}
		if len(minutes) == 0 {
			delete(d.graph, g)
		}
	}
	d.logLines = slices.DeleteFunc(d.logLines, func(l logs.Record) bool { return l.Time.Before(cutoff) })
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Stats reports the number of records; there are no files.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	if err := s.check(ctx); err != nil {
		return store.Stats{}, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return store.Stats{DiskBytes: 0, Records: s.d.records}, nil
}

// posIndex is a set of positions kept in ascending order.
type posIndex []store.Position

// search returns the number of positions strictly before p.
func (x posIndex) search(p store.Position) int {
	return sort.Search(len(x), func(i int) bool { return !x[i].Less(p) })
}

func (x *posIndex) insert(p store.Position) {
	i := x.search(p)
	if i < len(*x) && (*x)[i] == p {
		return
	}
	*x = slices.Insert(*x, i, p)
}

func (x *posIndex) remove(p store.Position) {
	if i := x.search(p); i < len(*x) && (*x)[i] == p {
		*x = slices.Delete(*x, i, i+1)
	}
}

// errBadQuery marks a query the contract refuses.
var errBadQuery = errors.New("memstore: bad query")
