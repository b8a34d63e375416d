package clickhouse

import (
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

// TestScanPages scans more rows than a page holds, within one second
// (several pages of one slice) and spread over a year (slices
// widening over empty stretches), in both orders, whole and resumed, with
// an early break, and checks every row against the expected order.
func TestScanPages(t *testing.T) {
	srv := startServer(t)
	s := openTest(t, srv, fmt.Sprintf("pages_%d", dbs.Add(1)))
	ctx := context.Background()
	now := time.Now().Unix()
	var want []store.SummaryRow // ByStart positions
	ends := map[xrayid.TraceID]int64{}
	b := &store.Batch{}
	add := func(start, end int64, n int) {
		for range n {
			var id xrayid.TraceID
			binary.BigEndian.PutUint32(id[:4], uint32(start))
			binary.BigEndian.PutUint32(id[12:], uint32(len(want)+1))
			want = append(want, store.SummaryRow{Pos: store.Position{Sec: start, TraceID: id}, TraceID: id})
			ends[id] = end
			b.Summaries = append(b.Summaries, store.SummaryRecord{TraceID: id, End: end, Summary: id[12:]})
		}
	}
	add(now-5, now-1, 2*pageSize+pageSize/2)      // one dense second: several pages
	add(now-3600, now-3000, 3)                    // an hour back
	add(now-20*86400, now-20*86400+7, pageSize/4) // 20 days back
	add(now-29*86400, now-29*86400+1, 1)          // near the edge of plausible epochs
	add(now-10, now+1800, 1)                      // ends in the future
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, order := range []store.Order{store.ByStart, store.ByEnd} {
		exp := slices.Clone(want)
		if order == store.ByEnd {
			for i := range exp {
				exp[i].Pos.Sec = ends[exp[i].TraceID]
			}
		}
		slices.SortFunc(exp, func(a, b store.SummaryRow) int {
			return -cmp.Or(cmp.Compare(a.Pos.Sec, b.Pos.Sec), slices.Compare(a.TraceID[:], b.TraceID[:]))
		})
		var expPos []store.Position
		for _, r := range exp {
			expPos = append(expPos, r.Pos)
		}
		scan := func(before *store.Position, limit int) []store.Position {
			var got []store.Position
			for r, err := range s.ScanSummaries(ctx, store.SummaryScan{Order: order, From: now - 400*86400, To: now + 86400, Before: before}) {
				if err != nil {
					t.Fatal(err)
				}
				if string(r.Summary) != string(r.TraceID[12:]) {
					t.Fatalf("order %d: %x has summary %x", order, r.TraceID, r.Summary)
				}
				if r.Pos.TraceID != r.TraceID {
					t.Fatalf("order %d: row of %x at %v", order, r.TraceID, r.Pos)
				}
				got = append(got, r.Pos)
				if len(got) == limit {
					break
				}
			}
			return got
		}
		if got := scan(nil, -1); !slices.Equal(got, expPos) {
			t.Fatalf("order %d: %d rows, want %d (first difference at %d)", order, len(got), len(exp), firstDiff(got, expPos))
		}
		for _, k := range []int{0, pageSize - 1, pageSize, 2*pageSize + 7, len(exp) - 2} {
			if got := scan(&exp[k].Pos, -1); !slices.Equal(got, expPos[k+1:]) {
				t.Fatalf("order %d, resumed after row %d: %d rows, want %d (first difference at %d)", order, k, len(got), len(exp)-k-1, firstDiff(got, expPos[k+1:]))
			}
		}
		if got := scan(nil, pageSize+3); !slices.Equal(got, expPos[:pageSize+3]) {
			t.Fatalf("order %d, broken off: %d rows", order, len(got))
		}
		// A Positions scan yields the same positions and reads no summary.
		var got []store.Position
		for r, err := range s.ScanSummaries(ctx, store.SummaryScan{Order: order, From: now - 400*86400, To: now + 86400, Positions: true}) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary != nil {
				t.Fatalf("order %d: a Positions scan read the summary of %x", order, r.TraceID)
			}
			got = append(got, r.Pos)
		}
		if !slices.Equal(got, expPos) {
			t.Fatalf("order %d, positions only: %d rows, want %d (first difference at %d)", order, len(got), len(exp), firstDiff(got, expPos))
		}
	}
}

func firstDiff(a, b []store.Position) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
