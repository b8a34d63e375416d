package query_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// base is the time test traces are placed around.
var base = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// at is base plus seconds.
func at(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }

// openStore opens a Pebble store in a temporary directory that places
// every trace by its ID's epoch, however old.
func openStore(t testing.TB) *pebblestore.Store {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{
		NoSync:    true,
		EpochPast: 50 * 365 * 24 * time.Hour,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// traceID makes the ID of test trace n starting in epoch second sec. n is
// in the first bytes of the random part too, as random IDs differ there:
// the Pebble store's term index keeps only those (pebblestore's traceRef).
func traceID(sec int64, n int) xrayid.TraceID {
	return xrayid.MustParseTraceID(fmt.Sprintf("1-%08x-%08x%016x", sec, n, n))
}

type opt func(*summary.Summary)

// mk builds the summary of test trace n, which starts sec seconds after
// base: one web request of 100 ms from the client, then whatever opts add.
func mk(n int, sec float64, opts ...opt) *summary.Summary {
	start := float64(base.Unix()) + sec
	s := &summary.Summary{
		TraceID: traceID(int64(math.Floor(start)), n), Revision: 1, Documents: 1,
		Start: start, End: start + 0.1, Duration: 0.1, ResponseTime: 0.1, Entry: 0,
		Nodes: []summary.Node{{Name: "web", Names: []string{"web"}, Type: "AWS::EC2::Instance", Root: true,
			Requests: []summary.Call{{ID: 1, Start: start, End: start + 0.1, Status: 200}}}},
		Edges: []summary.Edge{{From: -1, To: 0, Calls: []summary.Call{{ID: 1, Start: start, End: start + 0.1, Status: 200}}}},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// fault marks the entry request as a 5xx.
func fault(s *summary.Summary) {
	s.HasFault = true
	s.Nodes[0].Requests[0].Fault, s.Nodes[0].Requests[0].Status = true, 500
	s.Edges[0].Calls[0].Fault, s.Edges[0].Calls[0].Status = true, 500
}

// calls adds a downstream service called by web, faulty when it says so.
func calls(name string, faulty bool) opt {
	return func(s *summary.Summary) {
		c := summary.Call{ID: xrayid.SegmentID(len(s.Nodes) + 1), Start: s.Start + 0.01, End: s.Start + 0.05, Fault: faulty}
		s.Nodes = append(s.Nodes, summary.Node{Name: name, Names: []string{name}, Requests: []summary.Call{c}})
		s.Edges = append(s.Edges, summary.Edge{From: 0, To: int32(len(s.Nodes) - 1), Calls: []summary.Call{c}})
	}
}

func user(name string) opt {
	return func(s *summary.Summary) { s.Users = append(s.Users, summary.User{Name: name, Nodes: []int32{0}}) }
}

// request gives the trace's entry request a method and URL.
func request(method, url string) opt {
	return func(s *summary.Summary) { s.HTTP.Method, s.HTTP.URL = method, url }
}

func annotation(key string, v float64) opt {
	return func(s *summary.Summary) {
		s.Annotations = append(s.Annotations, summary.Annotation{Key: key, Nodes: []int32{0},
			Value: segment.Annotation{Key: key, Type: segment.AnnotationNumber, Number: v}})
	}
}

// lastActivity moves the trace's end to sec seconds after base.
func lastActivity(sec float64) opt {
	return func(s *summary.Summary) {
		s.End = float64(base.Unix()) + sec
		s.Duration = s.End - s.Start
	}
}

// endSecond is the ByEnd position second the ingest side gives a summary.
func endSecond(s *summary.Summary) int64 { return int64(max(s.End, s.Start)) }

// write stores summaries with the index terms the store is given
// (index.For), as the summarizer writes them.
func write(t testing.TB, st store.Writer, sums ...*summary.Summary) {
	t.Helper()
	policy := index.For(st)
	for chunk := range slices.Chunk(sums, 1000) {
		b := &store.Batch{}
		var names []string
		for _, s := range chunk {
			// Terms and fields of the decoded summary, whose node flags
			// are computed, as the summarizer writes them.
			r := roundTrip(t, s)
			var f store.SummaryFields
			f, names = summarize.Fields(r, names)
			b.Summaries = append(b.Summaries, store.SummaryRecord{TraceID: s.TraceID, End: endSecond(s),
				Summary: s.AppendBinary(nil), Terms: policy.Terms(r, nil), Fields: f})
		}
		if err := st.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// roundTrip is s as a reader decodes it (node flags recomputed).
func roundTrip(t testing.TB, s *summary.Summary) *summary.Summary {
	t.Helper()
	var d summary.Summary
	if err := d.UnmarshalBinary(s.AppendBinary(nil)); err != nil {
		t.Fatal(err)
	}
	return &d
}

func parse(t testing.TB, expr string) *filter.Expr {
	t.Helper()
	if expr == "" {
		return nil
	}
	e, err := filter.Parse(expr, filter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// expected lists, newest first, the IDs of the traces among sums that q
// returns, computed the slow way: every summary, every check.
func expected(t testing.TB, sums []*summary.Summary, q query.Query) []string {
	t.Helper()
	type hit struct {
		pos store.Position
		id  string
	}
	var hits []hit
	for _, s := range sums {
		d := roundTrip(t, s)
		pos := store.Position{Sec: int64(d.TraceID.Epoch()), TraceID: d.TraceID}
		tm := d.Start
		if q.TimeRange != query.TraceID {
			pos.Sec, tm = endSecond(d), max(d.End, d.Start)
		}
		tm = min(max(tm, float64(pos.Sec)), math.Nextafter(float64(pos.Sec+1), 0))
		lo, hi := float64(q.Start.UnixNano())/1e9, float64(q.End.UnixNano())/1e9
		if tm < lo || tm >= hi || q.Filter != nil && !q.Filter.Match(d) {
			continue
		}
		hits = append(hits, hit{pos, d.TraceID.String()})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(b.pos.Sec, a.pos.Sec), cmp.Compare(string(b.pos.TraceID[:]), string(a.pos.TraceID[:])))
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids
}

// pageAll runs q page after page and returns every trace ID in order, the
// number of pages, and each page's plan.
func pageAll(t testing.TB, e *query.Engine, q query.Query) (ids []string, pages []*query.Page) {
	t.Helper()
	for {
		p, err := e.Run(context.Background(), q)
		if err != nil {
			t.Fatalf("page %d: %v", len(pages)+1, err)
		}
		pages = append(pages, p)
		for _, r := range p.Results {
			ids = append(ids, r.Summary.TraceID.String())
		}
		if p.NextToken == "" {
			return ids, pages
		}
		if len(pages) > 10000 {
			t.Fatal("more than 10000 pages")
		}
		q.Cursor = p.NextToken
	}
}

func ids(p *query.Page) []string {
	out := make([]string, len(p.Results))
	for i, r := range p.Results {
		out[i] = r.Summary.TraceID.String()
	}
	return out
}

// noTerms hides index terms from the planner and the scan: every summary
// is a candidate.
type noTerms struct{ store.SummaryReader }

func (s noTerms) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	q.Terms = nil
	return s.SummaryReader.ScanSummaries(ctx, q)
}

// counting counts the calls a planner makes.
// estimating is a store with its TermEstimator and without its PushDown:
// plans and row counts as they are without push-down.
type estimating struct {
	store.SummaryReader
	store.TermEstimator
}

type counting struct {
	store.SummaryReader
	scans, counts int
}

func (s *counting) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	s.scans++
	return s.SummaryReader.ScanSummaries(ctx, q)
}

func (s *counting) CountTerm(ctx context.Context, term store.Term, from, to int64, limit int) (int, error) {
	s.counts++
	return s.SummaryReader.CountTerm(ctx, term, from, to, limit)
}
