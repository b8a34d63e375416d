package summarize_test

import (
	"slices"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/summarize"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TestTermsForStore: the summarizer gives a store the index terms its
// index.Policy says: every term to Pebble, and to the memory backend
// (store.IndexPolicy, as ClickHouse) none of the kinds it pushes down —
// no node name, annotation key, time bucket, HTTP status or trace flag —
// while the others (annotation values, users, node flags) stay.
func TestTermsForStore(t *testing.T) {
	peb := openPebble(t)
	mem := memstore.New()
	defer mem.Close()
	sc, err := loadgen.New("large", 7)
	if err != nil {
		t.Fatal(err)
	}
	left := func(term store.Term) bool {
		switch index.KindOf(term) {
		case index.KindNode, index.KindAnnotationKey, index.KindResponseTime, index.KindDuration, index.KindHTTPStatus, index.KindTraceFlag:
			return true
		}
		return false
	}
	for _, c := range []struct {
		name string
		st   summarize.Reader
		full bool
	}{{"pebble", peb, true}, {"memory", mem, false}} {
		sum := summarize.New(c.st, summarize.Options{}, metrics.NewSet(), quiet)
		dec := segment.NewDecoder(0)
		// Each trace's documents in two batches: the second revision
		// adds only the terms the first did not give.
		given := map[xrayid.TraceID][]store.Term{}
		latest := map[xrayid.TraceID][]byte{}
		kinds := map[index.Kind]int{}
		start := time.Now().Add(-time.Hour)
		for half := range 2 {
			b := &store.Batch{}
			var segs []segment.Segment
			for i := range 60 {
				tr := sc.Trace(i, start.Add(time.Duration(i)*time.Second))
				mid := len(tr.Docs) / 2
				docs := tr.Docs[:mid]
				if half == 1 {
					docs = tr.Docs[mid:]
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
			if err := sum.Observe(segs, b); err != nil {
				t.Fatal(err)
			}
			for _, r := range b.Summaries {
				given[r.TraceID] = append(given[r.TraceID], r.Terms...)
				latest[r.TraceID] = slices.Clone(r.Summary)
				for _, term := range r.Terms {
					kinds[index.KindOf(term)]++
					if !c.full && left(term) {
						t.Fatalf("%s: trace %s given term %#x of kind %d, which the store pushes down", c.name, r.TraceID, uint64(term), index.KindOf(term))
					}
				}
			}
		}
		for id, terms := range given {
			var s summary.Summary
			if err := s.UnmarshalBinary(latest[id]); err != nil {
				t.Fatal(err)
			}
			want := index.For(c.st).Terms(&s, nil)
			if c.full && !slices.Equal(want, index.Terms(&s, nil)) {
				t.Fatalf("%s: index.For is not the full policy", c.name)
			}
			// Terms accumulate over revisions: the latest one's are all
			// given.
			for _, w := range want {
				if !slices.Contains(terms, w) {
					t.Errorf("%s: trace %s was not given term %#x of kind %d", c.name, id, uint64(w), index.KindOf(w))
				}
			}
		}
		// Not vacuous: Pebble gets the kinds the memory backend does not;
		// both get annotation values and users.
		for _, k := range []index.Kind{index.KindAnnotationValue, index.KindUser} {
			if kinds[k] == 0 {
				t.Errorf("%s: no term of kind %d in %d traces", c.name, k, len(given))
			}
		}
		if c.full {
			for _, k := range []index.Kind{index.KindNode, index.KindAnnotationKey, index.KindResponseTime, index.KindDuration, index.KindHTTPStatus, index.KindTraceFlag} {
				if kinds[k] == 0 {
					t.Errorf("%s: no term of kind %d in %d traces", c.name, k, len(given))
				}
			}
		}
	}
}
