package segment

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	n := float64(now.Unix())
	traceAt := func(at float64) string { return fmt.Sprintf("1-%08x-a006649127e371903a2de979", uint32(at)) }
	doc := func(trace string, start, end float64, sub string) string {
		return fmt.Sprintf(`{"name":"s","id":"70de5b6f19ff9a0a","trace_id":%q,"start_time":%v,"end_time":%v%s}`, trace, start, end, sub)
	}
	cases := []struct {
		name      string
		doc       string
		retention time.Duration
		code      string
		msg       string
	}{
		{"now", doc(traceAt(n), n-1, n, ""), 0, "", ""},
		{"2016, an AWS docs example", doc("1-581cf771-a006649127e371903a2de979", 1.478293361271e9, 1.478293361449e9, ""), time.Hour, "", ""},
		{"1970", doc(traceAt(n), 1, 2, ""), 0, CodeExpired, "start_time 1 of the document is before 2000-01-01T00:00:00Z"},
		{"1e300", doc(traceAt(n), n, 1e300, ""), 0, CodeFutureTime, "end_time 1e+300 of the document is more than a century ahead"},
		{"a day and a bit ahead", doc(traceAt(n), n+86500, n+86501, ""), 0, CodeFutureTime, "of the document is 24h1m40s ahead of the server's clock; the limit is 24h0m0s"},
		{"a subsegment ahead", doc(traceAt(n), n, n+1, `,"subsegments":[{"name":"c","id":"1111111111111111","start_time":`+fmt.Sprint(n)+`,"end_time":4e9}]`), 0, CodeFutureTime, "end_time 4000000000 of subsegment 1111111111111111"},
		{"trace ID past retention", doc(traceAt(n-2*3600), n-1, n, ""), time.Hour, CodeExpired, "before the retention cutoff 2026-12-07T11:00:00Z (retention 1h0m0s): it would be deleted"},
		{"trace ID within retention", doc(traceAt(n-1800), n-1, n, ""), time.Hour, "", ""},
		{"trace ID older than placement (filed at arrival)", doc(traceAt(n-40*86400), n-1, n, ""), time.Hour, "", ""},
		{"trace ID past retention, default retention", doc(traceAt(n-29*86400), n-1, n, ""), 30 * 24 * time.Hour, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			segs, err := NewDecoder(0).Decode(nil, []byte(c.doc))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			e := Window{Retention: c.retention}.Check(&segs[0], now)
			if c.code == "" {
				if e != nil {
					t.Fatalf("rejected: %v", e)
				}
				return
			}
			if e == nil || e.Code != c.code || !strings.Contains(e.Message, c.msg) || e.ID != "70de5b6f19ff9a0a" {
				t.Fatalf("got %+v; want %s containing %q", e, c.code, c.msg)
			}
		})
	}
}
