package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TestFlatColumns writes a summary with its Fields, as the summarizer
// fills them, and checks the columns; a record without Fields leaves them
// at their defaults.
func TestFlatColumns(t *testing.T) {
	srv := startServer(t)
	s := openTest(t, srv, fmt.Sprintf("flat_%d", dbs.Add(1)))
	now := time.Now().Unix()
	var real xrayid.TraceID
	binary.BigEndian.PutUint32(real[:4], uint32(now))
	real[15] = 1
	opaque := real
	opaque[15] = 2
	sum := summary.Summary{
		TraceID: real, Revision: 1, Entry: 0, Duration: 1.5, ResponseTime: 0.25, HasFault: true, HasThrottle: true,
		HTTP:        summary.HTTP{Method: "GET", URL: "https://example.com/x", Status: 503},
		Nodes:       []summary.Node{{Name: "web", Names: []string{"web"}}, {Name: "db", Names: []string{"db"}}},
		Annotations: []summary.Annotation{{Key: "tenant"}},
	}
	ctx := context.Background()
	err := s.Write(ctx, &store.Batch{Summaries: []store.SummaryRecord{
		{TraceID: real, End: now, Summary: sum.AppendBinary(nil), Fields: store.SummaryFields{
			Duration: sum.Duration, ResponseTime: sum.ResponseTime, Fault: sum.HasFault, Throttle: sum.HasThrottle,
			HTTPStatus: sum.HTTP.Status, HTTPMethod: sum.HTTP.Method, HTTPURL: sum.HTTP.URL,
			Services: []string{"web", "db"}, AnnotationKeys: []string{"tenant"},
		}},
		{TraceID: opaque, End: now, Summary: []byte("not a summary")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		dur, rt               float64
		fault, errf, throttle uint8
		status                uint16
		method, url           string
		services, annotations []string
	}
	read := func(id xrayid.TraceID) row {
		var r row
		q := fmt.Sprintf("SELECT duration, response_time, fault, error, throttle, http_status, http_method, http_url, services, annotation_keys FROM summaries WHERE trace_id = unhex('%x')", id[:])
		if err := s.conn.QueryRow(ctx, q).Scan(&r.dur, &r.rt, &r.fault, &r.errf, &r.throttle, &r.status, &r.method, &r.url, &r.services, &r.annotations); err != nil {
			t.Fatal(err)
		}
		return r
	}
	got := read(real)
	if got.dur != 1.5 || got.rt != 0.25 || got.fault != 1 || got.errf != 0 || got.throttle != 1 || got.status != 503 ||
		got.method != "GET" || got.url != "https://example.com/x" || !slices.Equal(got.services, []string{"web", "db"}) || !slices.Equal(got.annotations, []string{"tenant"}) {
		t.Fatalf("flat columns of a real summary: %+v", got)
	}
	if got := read(opaque); got.dur != 0 || got.status != 0 || len(got.services) != 0 {
		t.Fatalf("flat columns of an opaque blob: %+v", got)
	}
}

// TestPushDownEdges scans with Where conditions over rows the conformance
// suite does not write: a row without Fields (never skipped), HTTP
// statuses beyond what http_status holds (clamped: never skipped on a
// comparison they could meet), NaN or infinite bounds (not pushed
// down), edges and service names from writers that did not fill them. A row meeting the conditions always has its summary; a row with
// Fields and an exact status that fails them never has.
func TestPushDownEdges(t *testing.T) {
	srv := startServer(t)
	s := openTest(t, srv, fmt.Sprintf("pushdown_%d", dbs.Add(1)))
	ctx := context.Background()
	now := time.Now().Unix()
	type row struct{ f store.SummaryFields }
	rows := []row{
		{f: store.SummaryFields{}},
		{f: store.SummaryFields{Services: []string{"web"}, HTTPStatus: 70000}},
		{f: store.SummaryFields{Services: []string{"web"}, HTTPStatus: -5}},
		{f: store.SummaryFields{Services: []string{"web"}, HTTPStatus: 404, Duration: 2.5, Fault: true}},
		{f: store.SummaryFields{Services: []string{"db"}, HTTPStatus: 0, Duration: 0.5, Error: true, AnnotationKeys: []string{"k"}}},
		// Edges: with and without the error flag; none (but known); a
		// writer that predates edges (never skipped on them).
		{f: store.SummaryFields{Services: []string{"web"}, HasEdges: true, Edges: []store.EdgeField{
			{Key: store.EdgeKey("web", "db"), Flags: store.EdgeError | store.EdgeThrottle}, {Key: store.EdgeKey("web", "auth")}}}},
		{f: store.SummaryFields{Services: []string{"web"}, HasEdges: true, Edges: []store.EdgeField{{Key: store.EdgeKey("web", "db"), Flags: store.EdgeFault}}}},
		{f: store.SummaryFields{Services: []string{"web"}, HasEdges: true}},
		{f: store.SummaryFields{Services: []string{"web", "db"}, Fault: true}},
		// Services with every name (fields 3 with the edges, 4
		// without); the rows above hold primary names only (a writer
		// before ServiceNames: never skipped on a service).
		{f: store.SummaryFields{Services: []string{"web", "web-alias"}, ServiceNames: true, HasEdges: true}},
		{f: store.SummaryFields{Services: []string{"db"}, ServiceNames: true, Error: true, Inferred: true}},
		{f: store.SummaryFields{Services: []string{"db"}, ServiceNames: true, Inferred: true, Partial: true}},
		// Inferred without ServiceNames: not known (never skipped on it).
		{f: store.SummaryFields{Services: []string{"db"}, Inferred: true, Partial: true}},
		{f: store.SummaryFields{Services: []string{"auth", "it's"}, ServiceNames: true, HasEdges: true, Edges: []store.EdgeField{{Key: store.EdgeKey("auth", "db")}}}},
		// The services' flags (fields 5 with the edges, 6 without); the
		// rows above with ServiceNames have none known (never skipped on
		// a flag), these have them, or none (but known).
		{f: store.SummaryFields{Services: []string{"db", "web", "web-alias"}, ServiceNames: true, HasEdges: true, HasServiceFlags: true,
			ServiceFlags: []store.ServiceFlag{{Name: "web", Flags: store.EdgeFault}, {Name: "web-alias", Flags: store.EdgeFault}}}},
		{f: store.SummaryFields{Services: []string{"db", "it's"}, ServiceNames: true, HasServiceFlags: true,
			ServiceFlags: []store.ServiceFlag{{Name: "db", Flags: store.EdgeError | store.EdgeThrottle}, {Name: "it's", Flags: store.EdgeFault}}}},
		{f: store.SummaryFields{Services: []string{"db", "web"}, ServiceNames: true, HasServiceFlags: true}},
	}
	b := &store.Batch{}
	ids := map[xrayid.TraceID]int{}
	for i, r := range rows {
		var id xrayid.TraceID
		binary.BigEndian.PutUint32(id[:4], uint32(now))
		id[15] = byte(i + 1)
		ids[id] = i
		b.Summaries = append(b.Summaries, store.SummaryRecord{TraceID: id, End: now, Summary: []byte{byte(i)}, Fields: r.f})
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []store.FieldCond{
		{Field: store.FieldHTTPStatus, Op: store.Eq, Num: 70000},
		{Field: store.FieldHTTPStatus, Op: store.Ge, Num: 65536},
		{Field: store.FieldHTTPStatus, Op: store.Le, Num: -1},
		{Field: store.FieldHTTPStatus, Op: store.Eq, Num: -5},
		{Field: store.FieldHTTPStatus, Op: store.Eq, Num: 404},
		{Field: store.FieldHTTPStatus, Op: store.Eq, Num: 0},
		{Field: store.FieldDuration, Op: store.Ge, Num: 1},
		{Field: store.FieldDuration, Op: store.Le, Num: inf},
		{Field: store.FieldDuration, Op: store.Ge, Num: nan},
		{Field: store.FieldFault, Op: store.Eq, Num: 0},
		{Field: store.FieldError, Op: store.Eq, Num: 1},
		{Field: store.FieldService, Op: store.Has, Str: "db"},
		{Field: store.FieldService, Op: store.Has, Str: "web-alias"},
		{Field: store.FieldService, Op: store.Has, Str: "it's"},
		{Field: store.FieldService, Op: store.Has, Str: "web", Num: float64(store.EdgeFault)},
		{Field: store.FieldService, Op: store.Has, Str: "web-alias", Num: float64(store.EdgeFault)},
		{Field: store.FieldService, Op: store.Has, Str: "db", Num: float64(store.EdgeError)},
		{Field: store.FieldService, Op: store.Has, Str: "db", Num: float64(store.EdgeError | store.EdgeThrottle)},
		{Field: store.FieldService, Op: store.Has, Str: "db", Num: float64(store.EdgeFault)},
		{Field: store.FieldService, Op: store.Has, Str: "it's", Num: float64(store.EdgeFault)},
		{Field: store.FieldService, Op: store.Has, Str: "db", Num: nan},
		{Field: store.FieldInferred, Op: store.Eq, Num: 1},
		{Field: store.FieldInferred, Op: store.Eq, Num: 0},
		{Field: store.FieldPartial, Op: store.Eq, Num: 1},
		{Field: store.FieldPartial, Op: store.Eq, Num: 0},
		{Field: store.FieldAnnotationKey, Op: store.Has, Str: "k"},
		{Field: store.FieldAnnotationKey, Op: store.Has, Str: "it's"},
		{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db")},
		{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db"), Num: float64(store.EdgeError)},
		{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db"), Num: float64(store.EdgeError | store.EdgeFault)},
		{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "auth"), Num: float64(store.EdgeFault)},
		{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db"), Num: nan},
	} {
		for _, order := range []store.Order{store.ByStart, store.ByEnd} {
			n := 0
			for r, err := range s.ScanSummaries(ctx, store.SummaryScan{Order: order, From: now - 10, To: now + 10, Where: []store.FieldCond{c}}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				i := ids[r.TraceID]
				f := rows[i].f
				holds := c.Holds(&f)
				known := fieldsKnown(&f) && (c.Field != store.FieldEdge || f.HasEdges) && (c.Field != store.FieldService && c.Field != store.FieldInferred || f.ServiceNames)
				// http_status keeps 0 for every status up to 0 and 65535
				// for every one from 65535 up.
				clamped := c.Field == store.FieldHTTPStatus && (f.HTTPStatus <= 0 || f.HTTPStatus >= 65535)
				exact := known && !clamped && !math.IsNaN(c.Num) && !math.IsInf(c.Num, 0)
				switch {
				case (holds || !known) && r.Summary == nil:
					t.Errorf("%+v (order %d): row %d meets it (or has no Fields) but was skipped", c, order, i)
				case exact && !holds && r.Summary != nil:
					t.Errorf("%+v (order %d): row %d fails it but its summary was read", c, order, i)
				case r.Summary != nil && (len(r.Summary) != 1 || int(r.Summary[0]) != i):
					t.Errorf("%+v (order %d): row %d has summary %v", c, order, i, r.Summary)
				}
			}
			if n != len(rows) {
				t.Errorf("%+v (order %d): %d rows, want every one of %d positions", c, order, n, len(rows))
			}
		}
	}
}
