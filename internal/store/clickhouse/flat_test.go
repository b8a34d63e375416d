package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
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
