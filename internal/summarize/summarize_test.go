package summarize_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// faultGroups puts traces with a faulted node in group "faults".
type faultGroups struct{}

func (faultGroups) Match(s *summary.Summary) []string {
	for _, n := range s.Nodes {
		if n.Fault {
			return []string{"faults"}
		}
	}
	return nil
}

// The graph deltas the summarizer writes, batch after batch (with traces
// leaving memory and resuming from the store in between), add up to the
// contributions of each trace's final summary.
func TestGraphDeltas(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts summarize.Options
		// failEvery > 0 fails the store write of every failEvery-th batch:
		// what the store holds must still add up.
		failEvery int
	}{
		{"in memory", summarize.Options{}, 0},
		{"resumed after every batch", summarize.Options{MaxDocumentsInMemory: 1}, 0},
		{"evicted when idle", summarize.Options{IdleTimeout: time.Second}, 0},
		{"failed writes", summarize.Options{}, 3},
		{"failed writes, resumed after every batch", summarize.Options{MaxDocumentsInMemory: 1}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) { testGraphDeltas(t, tc.opts, tc.failEvery) })
	}
}

func testGraphDeltas(t *testing.T, opts summarize.Options, failEvery int) {
	ctx := context.Background()
	st := openPebble(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	opts.Groups = faultGroups{}
	sum := summarize.New(st, opts, metrics.NewSet(), quiet)

	type arrival struct {
		at  time.Time
		id  xrayid.TraceID
		doc []byte
	}
	var arrivals []arrival
	for _, name := range []string{"seed", "large"} {
		sc, err := loadgen.New(name, 11)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 60 {
			tr := sc.Trace(i, now.Add(time.Duration(i)*700*time.Millisecond))
			for _, d := range tr.Docs {
				arrivals = append(arrivals, arrival{d.At, tr.ID, d.JSON})
			}
		}
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })

	dec := segment.NewDecoder(0)
	docs := map[xrayid.TraceID][]summary.Doc{}
	// Batches of a few documents, in arrival order.
	failed := 0
	for batch, start := 0, 0; start < len(arrivals); batch++ {
		fail := failEvery > 0 && batch%failEvery == failEvery-1
		end := min(start+1+start%5, len(arrivals))
		b := &store.Batch{}
		var segs []segment.Segment
		for _, a := range arrivals[start:end] {
			ss, err := dec.Decode(nil, a.doc)
			if err != nil {
				t.Fatal(err)
			}
			for k := range ss {
				received := a.at.UnixNano()
				segs = append(segs, ss[k])
				b.Records = append(b.Records, store.Record{TraceID: ss[k].TraceID, ID: ss[k].ID(), Received: received, Doc: a.doc})
				if !fail {
					d := ss[k]
					docs[a.id] = append(docs[a.id], summary.Doc{Seg: &d, Received: received})
				}
			}
		}
		now = arrivals[end-1].at
		if err := sum.Observe(segs, b); err != nil {
			t.Fatal(err)
		}
		if fail {
			// As the pipeline does when the store refuses a batch.
			sum.Discard()
			failed++
		} else if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		start = end
	}
	if failEvery > 0 && failed == 0 {
		t.Fatal("no write failed")
	}

	var want []graph.Contribution
	for id, ds := range docs {
		s := summary.Build(id, ds, 0)
		want = append(want, graph.Contributions(s, faultGroups{}.Match(s))...)
	}
	for _, group := range []string{"", "faults"} {
		have := rows(t, st, group)
		wantRows := sumContributions(want, group)
		if have != wantRows {
			t.Fatalf("group %q: counters from the summarizer's deltas:\n%s\nwant (contributions of the final summaries):\n%s", group, have, wantRows)
		}
		if have == "" {
			t.Fatalf("no trace counted in group %q", group)
		}
	}
	// The profile counters likewise add up to those of the final
	// revisions (late documents and resumed traces included).
	var wantProf []graph.Contribution
	var bld summary.Builder
	for id, ds := range docs {
		bld.Build(id, ds, 0)
		wantProf = append(wantProf, profile.Contributions(bld.Tree(nil))...)
	}
	for _, svc := range []string{"xraystarter-go", "xraystarter-py"} {
		group := profile.Group(svc)
		have := rows(t, st, group)
		wantRows := sumContributions(wantProf, group)
		if have != wantRows {
			t.Fatalf("profile of %s: counters from the summarizer's deltas:\n%s\nwant:\n%s", svc, have, wantRows)
		}
		if have == "" {
			t.Fatalf("no profile counters for %s", svc)
		}
	}
}

func rows(t *testing.T, st store.GraphReader, group string) string {
	var b strings.Builder
	for r, err := range st.GraphCounters(context.Background(), group, 0, 1<<40) {
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Values) > 0 {
			fmt.Fprintf(&b, "%d %q %v\n", r.Minute, r.Key, r.Values)
		}
	}
	return b.String()
}

func sumContributions(cs []graph.Contribution, group string) string {
	type mk struct {
		minute int64
		key    string
	}
	m := map[mk]map[uint32]float64{}
	for _, c := range cs {
		if c.Group != group {
			continue
		}
		k := mk{c.Minute, c.Key}
		if m[k] == nil {
			m[k] = map[uint32]float64{}
		}
		for _, v := range c.Values {
			m[k][v.Index] += v.Value
		}
	}
	keys := make([]mk, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b mk) int { return cmp.Or(cmp.Compare(a.minute, b.minute), cmp.Compare(a.key, b.key)) })
	var b strings.Builder
	for _, k := range keys {
		var vs []store.Counter
		for _, i := range slices.Sorted(maps.Keys(m[k])) {
			if m[k][i] != 0 {
				vs = append(vs, store.Counter{Index: i, Value: m[k][i]})
			}
		}
		if len(vs) > 0 {
			fmt.Fprintf(&b, "%d %q %v\n", k.minute, k.key, vs)
		}
	}
	return b.String()
}

// TestHalfFailedWrites runs the summarizer inside the ingest pipeline on
// stores whose writes fail, and checks the graph counters against the
// final summaries of what the store holds. On an Atomic store a failed
// batch is lost whole (its caller is told) and the summarizer resumes its
// traces from the store. On a composed store (Pebble's documents and
// summaries, the memory backend's counters) the counters fail after the
// documents were stored: the pipeline writes the same batch again, which
// the store stores once, and the caller is answered when it is stored.
func TestHalfFailedWrites(t *testing.T) {
	errFault := errors.New("injected write fault")
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (store.Store, *memstore.Data)
	}{
		{"atomic", func(t *testing.T) (store.Store, *memstore.Data) {
			m := memstore.New()
			return m, m.Data()
		}},
		{"composed", func(t *testing.T) (store.Store, *memstore.Data) {
			peb := openPebble(t)
			mem := memstore.New()
			s, err := store.Compose(store.Parts{Traces: peb, Graph: mem, Logs: mem, Meta: peb})
			if err != nil {
				t.Fatal(err)
			}
			return s, mem.Data()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, faults := tc.open(t)
			defer st.Close()
			attempts := 0
			faults.SetWriteFault(func(b *store.Batch) error {
				if len(b.Graph) == 0 {
					return nil
				}
				if attempts++; attempts%3 == 0 {
					return errFault
				}
				return nil
			})
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			sum := summarize.New(st, summarize.Options{Now: clock, Groups: faultGroups{}}, metrics.NewSet(), quiet)
			p := ingest.New(st, ingest.Options{Observer: sum, Now: clock}, metrics.NewSet(), quiet)

			sc, err := loadgen.New("seed", 5)
			if err != nil {
				t.Fatal(err)
			}
			dec := segment.NewDecoder(0)
			docs := map[xrayid.TraceID][]summary.Doc{}
			failed := 0
			for i := range 40 {
				tr := sc.Trace(i/2, now.Add(time.Duration(i/2)*time.Second)) // each trace in two halves
				half := tr.Docs[:len(tr.Docs)/2]
				if i%2 == 1 {
					half = tr.Docs[len(tr.Docs)/2:]
				}
				var segs []segment.Segment
				for _, d := range half {
					ss, err := dec.Decode(nil, d.JSON)
					if err != nil {
						t.Fatal(err)
					}
					segs = append(segs, ss...)
				}
				if len(segs) == 0 {
					continue
				}
				received := now.UnixNano()
				err := p.SubmitWait(context.Background(), segs)
				switch {
				case errors.Is(err, errFault) && store.IsAtomic(st):
					failed++ // lost whole: not in the store
					continue
				case err != nil:
					t.Fatalf("SubmitWait: %v", err)
				}
				for k := range segs {
					d := segs[k]
					d.Raw = nil
					docs[tr.ID] = append(docs[tr.ID], summary.Doc{Seg: &d, Received: received})
				}
			}
			if err := p.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if attempts < 3 {
				t.Fatal("no write failed")
			}
			if store.IsAtomic(st) != (failed > 0) {
				t.Fatalf("%d batches lost; want some exactly when the store is atomic", failed)
			}
			var want []graph.Contribution
			for id, ds := range docs {
				s := summary.Build(id, ds, 0)
				want = append(want, graph.Contributions(s, faultGroups{}.Match(s))...)
			}
			for _, group := range []string{"", "faults"} {
				have, wantRows := rows(t, st, group), sumContributions(want, group)
				if have != wantRows {
					t.Fatalf("group %q: counters:\n%s\nwant (contributions of the final summaries):\n%s", group, have, wantRows)
				}
				if have == "" && group == "" {
					t.Fatal("no trace counted")
				}
			}
		})
	}
}

// openPebble opens a Pebble store in a test directory, closed at the end
// of the test, that accepts trace IDs of any epoch.
func openPebble(t *testing.T) *pebblestore.Store {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
