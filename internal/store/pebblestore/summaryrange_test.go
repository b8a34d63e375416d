package pebblestore

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestSummaryRangeWiden(t *testing.T) {
	var r summaryRange
	r.v.Store(emptySummaryRange)
	for _, sec := range []uint32{0, 100, math.MaxUint32} {
		if r.mayHold(sec) {
			t.Errorf("empty range holds %d", sec)
		}
	}
	r.widen(100)
	r.widen(50)
	r.widen(70)
	for sec, want := range map[uint32]bool{49: false, 50: true, 70: true, 100: true, 101: false} {
		if got := r.mayHold(sec); got != want {
			t.Errorf("[50, 100] holds %d: %v, want %v", sec, got, want)
		}
	}
}

// Summaries are found by ID wherever they were placed, after a reopen too,
// though lookups at an ID's epoch second are skipped outside the range of
// stored summaries: a trace at a past epoch (placed when it was recent), one
// at the present, one redirected for an implausible (W3C-like) epoch, and
// IDs never stored on either side of the range.
func TestSummariesByIDAcrossTheRange(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	past := now.Add(-400 * 24 * time.Hour)
	old, cur := traceAt(past, 1), traceAt(now, 2)
	var w3c xrayid.TraceID
	binary.BigEndian.PutUint32(w3c[:4], uint32(now.Add(50*365*24*time.Hour).Unix())) // 50 years ahead
	w3c[15] = 3
	// Received when its epoch was plausible: placed at its epoch, a year ago.
	mustWriteBatch(t, s, &store.Batch{Records: []store.Record{rec(old, 1, past)}, Summaries: []store.SummaryRecord{sumRec(old, past.Unix(), 0, "old")}})
	mustWriteBatch(t, s, &store.Batch{
		Records:   []store.Record{rec(cur, 2, now), rec(w3c, 3, now)},
		Summaries: []store.SummaryRecord{sumRec(cur, now.Unix(), 0, "cur"), sumRec(w3c, now.Unix(), 0, "w3c")},
	})
	before, after := traceAt(past.Add(-24*time.Hour), 4), traceAt(now.Add(30*time.Minute), 5)
	check := func(s *Store) {
		t.Helper()
		got := map[xrayid.TraceID]string{}
		for row, err := range s.Summaries(context.Background(), []xrayid.TraceID{old, cur, w3c, before, after}) {
			if err != nil {
				t.Fatal(err)
			}
			got[row.TraceID] = string(row.Summary)
		}
		if len(got) != 3 || got[old] != "old" || got[cur] != "cur" || got[w3c] != "w3c" {
			t.Errorf("summaries by ID: %v, want old, cur and w3c", got)
		}
	}
	check(s)
	if s.sums.mayHold(uint32(after.Epoch())) || s.sums.mayHold(uint32(before.Epoch())) || s.sums.mayHold(w3c.Epoch()) {
		t.Error("the range of stored summaries holds seconds no summary was placed at")
	}
	s = reopenTest(t, s)
	check(s)
	if !s.sums.mayHold(uint32(past.Unix())) || !s.sums.mayHold(uint32(now.Unix())) || s.sums.mayHold(w3c.Epoch()) {
		t.Error("after a reopen the range is not the stored summaries'")
	}
}
