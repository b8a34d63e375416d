package summarize_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/summarize"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// countingStore counts the lookups the summarizer makes of a real store.
type countingStore struct {
	*memstore.Store
	summaryCalls, traceCalls, idsAsked int
}

func (c *countingStore) Summaries(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[store.SummaryRow, error] {
	c.summaryCalls++
	c.idsAsked += len(ids)
	return c.Store.Summaries(ctx, ids)
}

func (c *countingStore) Traces(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[*store.Trace, error] {
	c.traceCalls++
	return c.Store.Traces(ctx, ids)
}

// A batch of many traces the summarizer does not hold costs one summary
// lookup and at most one document lookup, however many traces it has:
// against a remote store each lookup is a round trip.
func TestOneLookupPerBatch(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	defer st.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sc, err := loadgen.New("large", 5)
	if err != nil {
		t.Fatal(err)
	}
	dec := segment.NewDecoder(0)
	// batch returns the documents of traces [from, to) as one batch, with
	// only the first document of each when first is set.
	batch := func(from, to int, first bool) ([]segment.Segment, *store.Batch) {
		var segs []segment.Segment
		b := &store.Batch{}
		for i := from; i < to; i++ {
			tr := sc.Trace(i, now)
			docs := tr.Docs
			if first {
				docs = docs[:1]
			} else {
				docs = docs[1:]
			}
			for _, d := range docs {
				ss, err := dec.Decode(nil, d.JSON)
				if err != nil {
					t.Fatal(err)
				}
				for k := range ss {
					segs = append(segs, ss[k])
					b.Records = append(b.Records, store.Record{TraceID: ss[k].TraceID, ID: ss[k].ID(), Received: d.At.UnixNano(), Doc: d.JSON})
				}
			}
		}
		return segs, b
	}
	// Every trace leaves memory after each batch, so the second batch
	// resumes all 50 from the store.
	sum := summarize.New(st, summarize.Options{Now: func() time.Time { return now }, MaxDocumentsInMemory: 0, MaxEntities: 1}, metrics.NewSet(), quiet)
	ctx := context.Background()
	segs, b := batch(0, 50, true)
	if err := sum.Observe(segs, b); err != nil {
		t.Fatal(err)
	}
	if len(b.Summaries) != 50 {
		t.Fatalf("%d summaries for 50 traces", len(b.Summaries))
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if st.summaryCalls != 1 || st.idsAsked != 50 || st.traceCalls != 0 {
		t.Fatalf("first batch of 50 new traces: %d summary lookups of %d IDs, %d document lookups; want 1 of 50, 0",
			st.summaryCalls, st.idsAsked, st.traceCalls)
	}
	st.summaryCalls, st.idsAsked = 0, 0
	segs, b = batch(0, 50, false)
	if err := sum.Observe(segs, b); err != nil {
		t.Fatal(err)
	}
	if st.summaryCalls != 1 || st.idsAsked != 50 || st.traceCalls != 1 {
		t.Fatalf("second batch of the same 50 traces, evicted: %d summary lookups of %d IDs, %d document lookups; want 1 of 50, 1",
			st.summaryCalls, st.idsAsked, st.traceCalls)
	}
	// Resumed, not restarted: every revision follows the stored one.
	for _, r := range b.Summaries {
		if r.PrevEnd == 0 {
			t.Fatalf("trace %s resumed without its stored revision", r.TraceID)
		}
	}
}
