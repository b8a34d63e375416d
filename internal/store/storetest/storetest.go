// Package storetest is the conformance suite every storage backend passes.
//
// A backend's test calls Run with a function that opens an empty store. The
// suite checks the whole store.Store contract; a bug found in one backend
// becomes a case here, for all of them.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// OpenFunc returns a new, empty store and arranges for it to be closed when
// the test ends (Close may have been called already by then).
type OpenFunc func(t *testing.T) store.Store

// ReopenFunc closes s and opens the same data again. Backends for which that
// makes no sense pass nil, and the cases that need it are skipped.
type ReopenFunc func(t *testing.T, s store.Store) store.Store

// FaultyOpenFunc opens a new, empty store whose writes can be made to
// fail partway, as OpenFunc does. After arm, the next Write must fail
// after the backend has begun storing the batch (as late as the backend
// can fail: a composed store after a first part stored its share, Pebble
// in its write-ahead log); disarm ends the fault and returns once the
// store accepts writes again (a backend may take a moment to recover).
type FaultyOpenFunc func(t *testing.T) (s store.Store, arm, disarm func())

// Option adds to what Run checks.
type Option func(*harness)

// WithFaults gives the suite a store whose writes can fail partway: the
// HalfFailedBatch case needs it and is skipped without it.
func WithFaults(f FaultyOpenFunc) Option { return func(h *harness) { h.faulty = f } }

// Run runs the conformance suite.
func Run(t *testing.T, open OpenFunc, reopen ReopenFunc, opts ...Option) {
	h := &harness{open: open, reopen: reopen}
	for _, o := range opts {
		o(h)
	}
	cases := []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"WriteReadBack", testWriteReadBack},
		{"ManyTraces", testManyTraces},
		{"LateSegments", testLateSegments},
		{"ReceivedOrder", testReceivedOrder},
		{"Duplicates", testDuplicates},
		{"UnknownIDs", testUnknownIDs},
		{"RequestOrder", testRequestOrder},
		{"EmptyBatch", testEmptyBatch},
		{"LargeDocuments", testLargeDocuments},
		{"LargeTrace", testLargeTrace},
		{"CallerMutation", testCallerMutation},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentReadWrite", testConcurrentReadWrite},
		{"Reopen", testReopen},
		{"DropBefore", testDropBefore},
		{"ImplausibleEpochs", testImplausibleEpochs},
		{"ImplausibleEpochsDropByArrival", testImplausibleDropByArrival},
		{"Stats", testStats},
		{"Closed", testClosed},
		{"ContextCancelled", testContextCancelled},
		{"EarlyBreak", testEarlyBreak},
		{"SummariesByID", testSummariesByID},
		{"SummaryScanEdges", testSummaryScanEdges},
		{"SummaryScanMany", testSummaryScanMany},
		{"SummaryByEndReplace", testSummaryByEndReplace},
		{"SummaryTerms", testSummaryTerms},
		{"CountTerm", testCountTerm},
		{"SummaryImplausibleEpochs", testSummaryImplausible},
		{"SummaryDropBefore", testSummaryDropBefore},
		{"SummaryReopen", testSummaryReopen},
		{"SummaryRetry", testSummaryRetry},
		{"SummaryClosed", testSummaryClosed},
		{"SummaryContextCancelled", testSummaryContext},
		{"SummaryEarlyBreak", testSummaryEarlyBreak},
		{"SummaryConcurrent", testSummaryConcurrent},
		{"GraphSums", testGraphSums},
		{"GraphCancel", testGraphCancel},
		{"GraphOrder", testGraphOrder},
		{"GraphWindow", testGraphWindow},
		{"GraphDropBefore", testGraphDropBefore},
		{"GraphInvalid", testGraphInvalid},
		{"GraphConcurrent", testGraphConcurrent},
		{"Meta", testMeta},
		{"MetaDurable", testMetaDurable},
		{"LogsLookup", testLogsLookup},
		{"LogsTime", testLogsTime},
		{"LogsOrder", testLogsOrder},
		{"LogsLimit", testLogsLimit},
		{"LogsFollow", testLogsFollow},
		{"LogsDropBefore", testLogsDropBefore},
		{"LogsBadQuery", testLogsBadQuery},
		{"LogsConcurrent", testLogsConcurrent},
		{"ExtrasClosed", testExtrasClosed},
		{"ExtrasContextCancelled", testExtrasContext},
		{"ExtrasEarlyBreak", testExtrasEarlyBreak},
		{"HalfFailedBatch", testHalfFailedBatch},
		{"Hints", testHints},
		{"DuplicateIDs", testDuplicateIDs},
		{"ByEndTerms", testByEndTerms},
		{"EstimateTerms", testEstimateTerms},
		{"Where", testWhere},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

type harness struct {
	open   OpenFunc
	reopen ReopenFunc
	faulty FaultyOpenFunc
}

// model is what the suite expects a store to hold: per trace, every record
// in write order.
type model struct {
	traces map[xrayid.TraceID][]store.Record
	order  []xrayid.TraceID
}

func newModel() *model { return &model{traces: map[xrayid.TraceID][]store.Record{}} }

// add records b as written. It copies the documents, so that tests can
// mutate theirs afterwards.
func (m *model) add(b *store.Batch) {
	for _, r := range b.Records {
		if _, ok := m.traces[r.TraceID]; !ok {
			m.order = append(m.order, r.TraceID)
		}
		r.Doc = bytes.Clone(r.Doc)
		m.traces[r.TraceID] = append(m.traces[r.TraceID], r)
	}
}

func (m *model) drop(id xrayid.TraceID) {
	delete(m.traces, id)
	m.order = slices.DeleteFunc(m.order, func(x xrayid.TraceID) bool { return x == id })
}

// want returns the records a store must return for id: by Received, ties in
// write order.
func (m *model) want(id xrayid.TraceID) []store.Record {
	recs := slices.Clone(m.traces[id])
	slices.SortStableFunc(recs, func(a, b store.Record) int { return cmp.Compare(a.Received, b.Received) })
	return recs
}

func (m *model) count() int {
	n := 0
	for _, recs := range m.traces {
		n += len(recs)
	}
	return n
}

// check reads every trace of the model back and compares.
func (m *model) check(t *testing.T, s store.Store) {
	t.Helper()
	got := readAll(t, s, m.order)
	if len(got) != len(m.order) {
		t.Fatalf("read %d traces back, want %d", len(got), len(m.order))
	}
	for i, id := range m.order {
		if got[i].ID != id {
			t.Fatalf("trace %d: got %s, want %s (request order)", i, got[i].ID, id)
		}
		checkRecords(t, id, got[i].Records, m.want(id))
	}
}

func checkRecords(t *testing.T, id xrayid.TraceID, got, want []store.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("trace %s: %d records, want %d", id, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.TraceID != w.TraceID || g.ID != w.ID || g.Received != w.Received || !bytes.Equal(g.Doc, w.Doc) {
			t.Fatalf("trace %s record %d:\n got  %s\n want %s", id, i, describe(g), describe(w))
		}
	}
}

func describe(r store.Record) string {
	doc := r.Doc
	if len(doc) > 120 {
		doc = append(slices.Clip(doc[:120]), "..."...)
	}
	return fmt.Sprintf("{trace %s id %s received %d doc(%d) %q}", r.TraceID, r.ID, r.Received, len(r.Doc), doc)
}

// readAll reads ids and fails the test on error.
func readAll(t *testing.T, s store.Store, ids []xrayid.TraceID) []*store.Trace {
	t.Helper()
	var out []*store.Trace
	for tr, err := range s.Traces(context.Background(), ids) {
		if err != nil {
			t.Fatalf("Traces: %v", err)
		}
		if tr == nil {
			t.Fatal("Traces yielded a nil trace without an error")
		}
		out = append(out, tr)
	}
	return out
}

// readOne returns the trace or nil.
func readOne(t *testing.T, s store.Store, id xrayid.TraceID) *store.Trace {
	t.Helper()
	got := readAll(t, s, []xrayid.TraceID{id})
	switch len(got) {
	case 0:
		return nil
	case 1:
		if got[0].ID != id {
			t.Fatalf("asked for %s, got %s", id, got[0].ID)
		}
		return got[0]
	}
	t.Fatalf("asked for one trace, got %d", len(got))
	return nil
}

func write(t *testing.T, s store.Store, m *model, b *store.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write(%d records): %v", len(b.Records), err)
	}
	if m != nil {
		m.add(b)
	}
}

// traceID builds an ID with the given epoch second and random part n.
func traceID(epoch uint32, n uint64) xrayid.TraceID {
	var id xrayid.TraceID
	binary.BigEndian.PutUint32(id[:4], epoch)
	binary.BigEndian.PutUint64(id[4:12], n*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint32(id[12:], uint32(n))
	return id
}

// doc returns a small X-Ray-like document that names its IDs, as real ones
// do. Backends may exploit that; the suite also writes documents that don't.
func doc(trace xrayid.TraceID, id xrayid.SegmentID, extra string) []byte {
	return fmt.Appendf(nil, `{"trace_id":"%s","id":"%s","name":"svc","start_time":1764067200.123456,"end_time":1764067200.234567%s}`,
		trace, id, extra)
}

func record(trace xrayid.TraceID, id xrayid.SegmentID, received int64, extra string) store.Record {
	return store.Record{TraceID: trace, ID: id, Received: received, Doc: doc(trace, id, extra)}
}

// now is the suite's notion of the present: the ID epochs it builds are
// plausible relative to it.
func now() time.Time { return time.Now() }

func sec(t time.Time) uint32 { return uint32(t.Unix()) }
