package memstore

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/logs"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/storetest"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the whole suite. A reopen closes the handle and
// opens a new one on the same Data, as a restart of a persistent backend
// opens the same files.
func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store {
			s := New()
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s2 := Open(s.(*Store).Data())
			t.Cleanup(func() { _ = s2.Close() })
			return s2
		},
		storetest.WithFaults(func(t *testing.T) (store.Store, func(), func()) {
			s := New()
			t.Cleanup(func() { _ = s.Close() })
			arm := func() {
				s.Data().SetWriteFault(func(*store.Batch) error { return errInjected })
			}
			disarm := func() { s.Data().SetWriteFault(nil) }
			return s, arm, disarm
		}))
}

var errInjected = errors.New("injected write fault")

// TestFailedWriteStoresNothing checks the promise Write's comment makes
// beyond the contract: a refused batch leaves no part of itself behind, so
// a retry cannot count graph deltas twice.
func TestFailedWriteStoresNothing(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	now := time.Now()
	id := xrayid.TraceID{0: 1}
	binary.BigEndian.PutUint32(id[:4], uint32(now.Unix()))
	minute := now.Unix() / 60
	good := &store.Batch{
		Records:   []store.Record{{TraceID: id, ID: 1, Received: now.UnixNano(), Doc: []byte(`{}`)}},
		Summaries: []store.SummaryRecord{{TraceID: id, End: now.Unix(), Summary: []byte("s"), Terms: []store.Term{7}}},
		Graph:     []store.GraphDelta{{Minute: minute, Key: "n", Values: []store.Counter{{Index: 0, Value: 1}}}},
		Logs:      []logs.Record{{Time: now, Function: "f", Message: "m"}},
	}
	bad := *good
	bad.Graph = append(slices.Clone(good.Graph), store.GraphDelta{Minute: minute, Key: "bad", Values: []store.Counter{{Index: 0, Value: math.NaN()}}})
	if err := s.Write(ctx, &bad); err == nil {
		t.Fatal("Write of a NaN counter succeeded")
	}
	if st, err := s.Stats(ctx); err != nil || st.Records != 0 {
		t.Fatalf("after a refused Write: Stats %+v, %v; want no records", st, err)
	}
	for row, err := range s.ScanSummaries(ctx, store.SummaryScan{From: math.MinInt64, To: math.MaxInt64}) {
		t.Fatalf("after a refused Write: summary %+v, %v", row, err)
	}
	for row, err := range s.GraphCounters(ctx, "", math.MinInt64, math.MaxInt64) {
		t.Fatalf("after a refused Write: graph row %+v, %v", row, err)
	}
	for l, err := range s.Logs(ctx, store.LogQuery{Function: "f"}) {
		t.Fatalf("after a refused Write: log line %+v, %v", l, err)
	}

	// The retry, without the bad delta, counts once.
	if err := s.Write(ctx, good); err != nil {
		t.Fatal(err)
	}
	var rows []store.GraphRow
	for row, err := range s.GraphCounters(ctx, "", math.MinInt64, math.MaxInt64) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, store.GraphRow{Minute: row.Minute, Key: row.Key, Values: slices.Clone(row.Values)})
	}
	want := []store.GraphRow{{Minute: minute, Key: "n", Values: []store.Counter{{Index: 0, Value: 1}}}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("graph after the retry (-want +got):\n%s", diff)
	}
	if n, err := s.CountTerm(ctx, 7, math.MinInt64, math.MaxInt64, 10); err != nil || n != 1 {
		t.Fatalf("CountTerm after the retry: %d, %v; want 1", n, err)
	}
}
