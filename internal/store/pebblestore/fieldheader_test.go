package pebblestore

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TestFieldHeaderHolds checks the header against store.FieldCond.Holds, the
// reference: a row it skips never meets the condition, and on values a
// float32 holds exactly it skips every row that does not.
func TestFieldHeaderHolds(t *testing.T) {
	exact := []float64{0, 0.25, 1, 1.5, 2, 5, 100, 3600}
	inexact := []float64{0.1, 0.05, 1.0000001, 1e39, -1e-50, math.Inf(1), math.NaN()}
	statuses := []int{0, 200, 404, 500, 503, -1, 70000}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []float64) float64 { return xs[r.IntN(len(xs))] }
	fields := []store.Field{store.FieldFault, store.FieldError, store.FieldThrottle, store.FieldPartial,
		store.FieldDuration, store.FieldResponseTime, store.FieldHTTPStatus, store.FieldService, store.FieldAnnotationKey}
	skipped := 0
	for i := range 20000 {
		allExact := i%2 == 0
		nums := exact
		if !allExact {
			nums = slices.Concat(exact, inexact)
		}
		f := store.SummaryFields{
			Duration: pick(nums), ResponseTime: pick(nums),
			Fault: r.IntN(2) == 0, Error: r.IntN(2) == 0, Throttle: r.IntN(2) == 0, Partial: r.IntN(2) == 0,
			HTTPStatus: statuses[r.IntN(len(statuses))], Services: []string{"web"},
		}
		if allExact && (f.HTTPStatus < 0 || f.HTTPStatus > math.MaxUint16) {
			f.HTTPStatus = 200
		}
		c := store.FieldCond{Field: fields[r.IntN(len(fields))], Op: store.Op(1 + r.IntN(4)), Num: pick(nums), Str: "web"}
		switch c.Field {
		case store.FieldFault, store.FieldError, store.FieldThrottle, store.FieldPartial:
			c.Num = float64(r.IntN(3)) // 2 never matches a flag
		case store.FieldHTTPStatus:
			c.Num = float64(statuses[r.IntN(len(statuses))]) + float64(r.IntN(3)-1)
		}
		var hdr [fieldHeaderLen]byte
		putFieldHeader(hdr[:], &f)
		fails := headerFails(hdr[:], []store.FieldCond{c})
		holds := c.Holds(&f)
		if fails && holds {
			t.Fatalf("%+v on %+v: skipped, but it holds", c, f)
		}
		wantSkip := allExact && !holds && pushesDown(c.Field)
		if wantSkip && !fails {
			t.Fatalf("%+v on %+v: exact values, fails, not skipped", c, f)
		}
		if fails {
			skipped++
		}
	}
	if skipped == 0 {
		t.Fatal("nothing skipped")
	}
	if headerFails(nil, []store.FieldCond{{Field: store.FieldFault, Op: store.Eq, Num: 1}}) {
		t.Fatal("a value without a header was skipped")
	}
}

// TestFieldHeaderScan writes summaries with fields, one without, and one
// in the format of earlier versions (no header), and checks that every read
// strips the header and that Where skips only rows whose header fails it.
func TestFieldHeaderScan(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	T := now.Unix()
	fault, ok, bare, old := traceAt(now, 1), traceAt(now, 2), traceAt(now, 3), traceAt(now, 4)
	withFields := func(id xrayid.TraceID, sum string, f store.SummaryFields) store.SummaryRecord {
		r := sumRec(id, T, 0, sum, 7)
		r.Fields = f
		return r
	}
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{
		withFields(fault, "sum-fault", store.SummaryFields{Fault: true, Duration: 0.1, HTTPStatus: 500, Services: []string{"web"}}),
		withFields(ok, "sum-ok", store.SummaryFields{Duration: 2, HTTPStatus: 200, Services: []string{"web"}}),
		sumRec(bare, T, 0, "sum-bare", 7), // Fields left empty: no header
		withFields(old, "placeholder", store.SummaryFields{Duration: 9, Services: []string{"web"}}),
	}})
	// The summary of old as an earlier version stored it: End, summary.
	key := posKey(nil, prefixSummary, old.Epoch(), old)
	rawSet(t, s, key, append(binary.BigEndian.AppendUint32(nil, uint32(T)), "\xf4sum-old"...))

	// The header costs fieldHeaderLen bytes, only where there are fields.
	for id, want := range map[xrayid.TraceID]int{fault: 4 + fieldHeaderLen + len("sum-fault"), bare: 4 + len("sum-bare")} {
		v, closer, err := s.db.Get(posKey(nil, prefixSummary, id.Epoch(), id))
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != want {
			t.Errorf("summary value of %s: %d bytes, want %d", id, len(v), want)
		}
		closer.Close()
	}

	all := map[xrayid.TraceID]string{fault: "sum-fault", ok: "sum-ok", bare: "sum-bare", old: "\xf4sum-old"}
	for row, err := range s.Summaries(context.Background(), []xrayid.TraceID{fault, ok, bare, old}) {
		if err != nil {
			t.Fatal(err)
		}
		if got := string(row.Summary); got != all[row.TraceID] {
			t.Errorf("Summaries: %s has summary %q, want %q", row.TraceID, got, all[row.TraceID])
		}
	}
	cases := []struct {
		where []store.FieldCond
		want  []xrayid.TraceID
	}{
		{nil, []xrayid.TraceID{fault, ok, bare, old}},
		{[]store.FieldCond{{Field: store.FieldFault, Op: store.Eq, Num: 1}}, []xrayid.TraceID{fault, bare, old}},
		{[]store.FieldCond{{Field: store.FieldDuration, Op: store.Ge, Num: 1}}, []xrayid.TraceID{ok, bare, old}},
		// 0.1 is stored as a float32: not skipped at its own value.
		{[]store.FieldCond{{Field: store.FieldDuration, Op: store.Le, Num: 0.1}}, []xrayid.TraceID{fault, bare, old}},
		{[]store.FieldCond{{Field: store.FieldHTTPStatus, Op: store.Ge, Num: 500}, {Field: store.FieldFault, Op: store.Eq, Num: 1}}, []xrayid.TraceID{fault, bare, old}},
		{[]store.FieldCond{{Field: store.FieldHTTPStatus, Op: store.Eq, Num: 404}}, []xrayid.TraceID{bare, old}},
		// Fields the header does not keep are never used to skip.
		{[]store.FieldCond{{Field: store.FieldService, Op: store.Has, Str: "nowhere"}}, []xrayid.TraceID{fault, ok, bare, old}},
	}
	for _, c := range cases {
		for _, q := range []store.SummaryScan{everything(store.ByStart), everything(store.ByEnd), everything(store.ByStart, 7)} {
			q.Where = c.where
			ids, sums, err := scanIDs(s, q)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(c.want, compareTraceIDs)
			slices.Reverse(c.want) // scans yield newest first, the same second by ID descending
			// Every row is yielded; a skipped one without its summary
			// (store.SummaryScan.Where), so only the others carry one.
			if !slices.Equal(ids, cases[0].want) {
				t.Errorf("%s where %+v: rows %v, want every row %v", describeScan(q), c.where, ids, cases[0].want)
			}
			var kept []xrayid.TraceID
			for i, id := range ids {
				if sums[i] == "" {
					continue
				}
				kept = append(kept, id)
				if sums[i] != all[id] {
					t.Errorf("%s: %s has summary %q, want %q", describeScan(q), id, sums[i], all[id])
				}
			}
			if !slices.Equal(kept, c.want) {
				t.Errorf("%s where %+v: summaries for %v, want %v", describeScan(q), c.where, kept, c.want)
			}
		}
	}
	if !s.PushesDown(store.FieldHTTPStatus) || s.PushesDown(store.FieldService) || s.PushesDown(store.FieldAnnotationKey) {
		t.Error("PushesDown: want the fixed-size fields only")
	}
}
