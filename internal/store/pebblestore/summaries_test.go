package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func sumRec(id xrayid.TraceID, end, prevEnd int64, summary string, terms ...store.Term) store.SummaryRecord {
	return store.SummaryRecord{TraceID: id, End: end, PrevEnd: prevEnd, Summary: []byte(summary), Terms: terms}
}

func mustWriteBatch(t testing.TB, s *Store, b *store.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// scanIDs runs a scan and returns the trace IDs and summaries it yields, or
// its error.
func scanIDs(s *Store, q store.SummaryScan) ([]xrayid.TraceID, []string, error) {
	var ids []xrayid.TraceID
	var sums []string
	for row, err := range s.ScanSummaries(context.Background(), q) {
		if err != nil {
			return ids, sums, err
		}
		ids = append(ids, row.TraceID)
		sums = append(sums, string(row.Summary))
	}
	return ids, sums, nil
}

func everything(order store.Order, terms ...store.Term) store.SummaryScan {
	return store.SummaryScan{Order: order, From: 0, To: 1 << 40, Terms: terms}
}

// TestSummaryKeys checks the keys summaries make: one summary and one ByEnd
// entry per trace whatever its revisions, one term key per distinct term.
func TestSummaryKeys(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	a, b := traceAt(now, 1), traceAt(now, 2)
	T := now.Unix()
	mustWriteBatch(t, s, &store.Batch{
		Records:   []store.Record{rec(a, 1, now), rec(b, 2, now)},
		Summaries: []store.SummaryRecord{sumRec(a, T, 0, "a1", 1, 2, 3), sumRec(b, T, 0, "b1", 1)},
	})
	mustWriteBatch(t, s, &store.Batch{
		Records:   []store.Record{rec(a, 3, now)},
		Summaries: []store.SummaryRecord{sumRec(a, T+5, T, "a2", 4), sumRec(a, T+9, T+5, "a3", 4, 5)},
	})
	n := keysByPrefix(t, s)
	if n[prefixSummary] != 2 || n[prefixEnd] != 2 || n[prefixRef] != 5 || n[prefixTerm] != 0 {
		t.Fatalf("keys %v: want 2 summaries, 2 ByEnd entries, 5 terms (a and b share a second)", n)
	}

	// A revision that forgets its PrevEnd leaves an entry behind, which
	// scans skip: the summary says where the trace ends now.
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{sumRec(a, T+20, 0, "a4")}})
	if n := keysByPrefix(t, s); n[prefixEnd] != 3 {
		t.Fatalf("%d ByEnd entries, want 3 (one stale)", n[prefixEnd])
	}
	ids, sums, err := scanIDs(s, everything(store.ByEnd))
	if err != nil || len(ids) != 2 || ids[0] != a || sums[0] != "a4" || ids[1] != b {
		t.Fatalf("ByEnd scan: %v %q %v, want a (a4) then b", ids, sums, err)
	}
}

// TestSummaryRetentionRanges checks what DropBefore leaves of summaries: a
// dropped trace's ByEnd entry while its End is after the cutoff, and the
// terms of the cutoff's hour; scans skip both.
func TestSummaryRetentionRanges(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	hour := time.Now().Truncate(time.Hour).Add(-5 * time.Hour)
	old := traceAt(hour, 1) // the hour's first second: dropped by a cutoff a minute later
	fresh := traceAt(hour.Add(10*time.Minute), 3)
	longAgo := traceAt(hour.Add(-48*time.Hour), 2)
	mustWriteBatch(t, s, &store.Batch{
		Records: []store.Record{rec(old, 1, hour), rec(longAgo, 2, hour.Add(-48*time.Hour)), rec(fresh, 3, hour.Add(10*time.Minute))},
		Summaries: []store.SummaryRecord{
			sumRec(old, hour.Unix()+3*3600, 0, "old", 7), // ends after the cutoff
			sumRec(longAgo, hour.Unix()-47*3600, 0, "longAgo", 7),
			sumRec(fresh, hour.Unix()+600, 0, "fresh", 7),
		},
	})
	if err := s.DropBefore(context.Background(), hour.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	n := keysByPrefix(t, s)
	if n[prefixSummary] != 1 || n[prefixEnd] != 2 || n[prefixRef] != 2 {
		t.Fatalf("keys %v: want fresh's summary, ByEnd entries of old and fresh, terms of this hour", n)
	}
	for _, q := range []store.SummaryScan{everything(store.ByStart), everything(store.ByEnd), everything(store.ByStart, 7)} {
		if ids, _, err := scanIDs(s, q); err != nil || len(ids) != 1 || ids[0] != fresh {
			t.Fatalf("scan %+v after DropBefore: %v %v, want only fresh", q, ids, err)
		}
	}
	if err := s.DropBefore(context.Background(), time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixSummary]+n[prefixEnd]+n[prefixRef] != 0 {
		t.Fatalf("keys %v after dropping everything", n)
	}
}

// TestSupersededRedirect places a trace twice: first by a redirect (its
// epoch more than EpochFuture ahead of its arrival), then, once the store
// has forgotten the redirect, at its epoch. Lookups and scans return the
// newer summary once.
func TestSupersededRedirect(t *testing.T) {
	s := openTest(t, Options{NoSync: true, RedirectCacheSize: -1, EpochFuture: time.Hour})
	now := time.Now()
	epoch := now.Add(-30 * time.Minute)
	id := traceAt(epoch, 1)
	early := now.Add(-2 * time.Hour) // the epoch was 90 minutes ahead
	mustWriteBatch(t, s, &store.Batch{
		Records:   []store.Record{rec(id, 1, early)},
		Summaries: []store.SummaryRecord{sumRec(id, early.Unix(), 0, "first", 1)},
	})
	// Without a redirect cache, a record arriving now places the trace at
	// its epoch, which is plausible now.
	mustWriteBatch(t, s, &store.Batch{
		Records:   []store.Record{rec(id, 2, now)},
		Summaries: []store.SummaryRecord{sumRec(id, now.Unix(), early.Unix(), "second", 2)},
	})
	if n := keysByPrefix(t, s); n[prefixSummary] != 2 {
		t.Fatalf("%d summary keys, want 2 (the test needs the double placement)", n[prefixSummary])
	}
	for row, err := range s.Summaries(context.Background(), []xrayid.TraceID{id}) {
		if err != nil || string(row.Summary) != "second" || row.Pos.Sec != epoch.Unix() {
			t.Fatalf("Summaries: %q at %d, %v; want the second, at the epoch", row.Summary, row.Pos.Sec, err)
		}
	}
	f := func(q store.SummaryScan) {
		t.Helper()
		ids, sums, err := scanIDs(s, q)
		if err != nil || len(ids) != 1 || sums[0] != "second" {
			t.Fatalf("scan %+v: %v %q %v; want the second summary once", q, ids, sums, err)
		}
	}
	f(everything(store.ByStart))
	f(everything(store.ByEnd))
	f(everything(store.ByStart, 1, 2))
	// Under a term only the older placement has, the trace is missed: the
	// documented cost of this rare case.
	if ids, _, err := scanIDs(s, everything(store.ByStart, 1)); err != nil || len(ids) != 0 {
		t.Fatalf("scan by the first placement's term: %v %v", ids, err)
	}
}

// TestCorruptSummaries damages summary data: reads return errCorrupt, not
// panics or wrong data.
func TestCorruptSummaries(t *testing.T) {
	now := time.Now()
	id := traceAt(now, 1)
	T := now.Unix()
	f := func(name string, damage func(s *Store), read func(s *Store) error) {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, Options{NoSync: true})
			mustWriteBatch(t, s, &store.Batch{
				Records:   []store.Record{rec(id, 1, now)},
				Summaries: []store.SummaryRecord{sumRec(id, T, 0, "summary", 1)},
			})
			damage(s)
			if err := read(s); !errors.Is(err, errCorrupt) {
				t.Fatalf("read after damage: %v, want errCorrupt", err)
			}
		})
	}
	byID := func(s *Store) error {
		for _, err := range s.Summaries(context.Background(), []xrayid.TraceID{id}) {
			if err != nil {
				return err
			}
		}
		return nil
	}
	scanning := func(q store.SummaryScan) func(s *Store) error {
		return func(s *Store) error { _, _, err := scanIDs(s, q); return err }
	}
	counting := func(s *Store) error { _, err := s.CountTerm(context.Background(), 1, 0, 1<<40, 10); return err }
	sk := posKey(nil, prefixSummary, uint32(T), id)
	ek := posKey(nil, prefixEnd, uint32(T), id)
	short := func(k []byte) func(s *Store) { return func(s *Store) { rawSet(t, s, k, []byte{1, 2}) } }
	f("summary value by ID", short(sk), byID)
	f("summary value ByStart", short(sk), scanning(everything(store.ByStart)))
	f("summary value ByEnd", short(sk), scanning(everything(store.ByEnd)))
	f("summary value by term", short(sk), scanning(everything(store.ByStart, 1)))
	f("end value", short(ek), scanning(everything(store.ByEnd)))
	f("summary key", func(s *Store) { rawSet(t, s, []byte{prefixSummary, 1}, []byte("xxxxxx")) }, scanning(everything(store.ByStart)))
	f("end key", func(s *Store) { rawSet(t, s, []byte{prefixEnd, 1}, []byte("xxxx")) }, scanning(everything(store.ByEnd)))
	term := func(s *Store) {
		k := binary.BigEndian.AppendUint32(termKeyPrefix(nil, uint32(T/termBucketSecs), 1), uint32(T))
		rawSet(t, s, append(k, 0xff, 0xff, 0xff), nil)
	}
	f("term key", term, scanning(everything(store.ByStart, 1)))
	f("term key count", term, counting)
	tk := termKey(nil, uint32(T), 1)
	f("term value", short(tk), scanning(everything(store.ByStart, 1)))
	f("term value count", short(tk), counting)
	unsorted := func(s *Store) {
		other := traceAt(now, 2)
		rawSet(t, s, tk, append(append([]byte(nil), other[:]...), id[:]...))
	}
	f("term IDs out of order", unsorted, scanning(everything(store.ByStart, 1)))

	// The same damage to format 4's reference keys.
	kind, ref := traceRef(uint32(T), id)
	rk := refKey(nil, uint32(T), 1, kind)
	long := func(s *Store) { rawSet(t, s, append(refKey(nil, uint32(T), 1, kind), 0), nil) }
	f("reference key", long, scanning(everything(store.ByStart, 1)))
	f("reference key count", long, counting)
	f("reference kind", func(s *Store) { rawSet(t, s, refKey(nil, uint32(T), 1, 'z'), ref[:]) }, scanning(everything(store.ByStart, 1)))
	f("reference value", short(rk), scanning(everything(store.ByStart, 1)))
	f("reference value count", short(rk), counting)
	f("references out of order", func(s *Store) {
		rawSet(t, s, rk, append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ref[:]...))
	}, scanning(everything(store.ByStart, 1)))
}

// TestCloseDuringScan closes the store while scans hold it: Close waits for
// them, and their next step fails with ErrClosed.
func TestCloseDuringScan(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	b := &store.Batch{}
	for i := range 10 {
		id := traceAt(now, uint32(i))
		b.Records = append(b.Records, rec(id, xrayid.SegmentID(i+1), now))
		b.Summaries = append(b.Summaries, sumRec(id, now.Unix(), 0, "x", 1))
	}
	mustWriteBatch(t, s, b)
	closeStore(t, s)
	for _, q := range []store.SummaryScan{everything(store.ByStart), everything(store.ByEnd), everything(store.ByStart, 1)} {
		s, err := Open(s.dir, s.opts)
		if err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		rows := 0
		var last error
		for _, err := range s.ScanSummaries(context.Background(), q) {
			if err != nil {
				last = err
				continue
			}
			if rows++; rows == 1 {
				go func() { closed <- s.Close() }()
				// Wait until Close has begun: the next step sees it.
				for !s.closing.Load() {
					time.Sleep(time.Millisecond)
				}
			}
		}
		if rows != 1 || !errors.Is(last, store.ErrClosed) {
			t.Fatalf("scan %+v closed after its first row: %d rows, last error %v; want 1 row, ErrClosed", q, rows, last)
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close during a scan: %v", err)
		}
	}
}

// TestFormatUpgrade opens a version 1 store: it gains summaries in place.
func TestFormatUpgrade(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	id := traceAt(now, 1)
	mustWrite(t, s, rec(id, 1, now))
	rawSet(t, s, metaFormatKey, binary.AppendUvarint(nil, 1))
	s = reopenTest(t, s)
	v, closer, err := s.db.Get(metaFormatKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := binary.Uvarint(v)
	closer.Close()
	if got != formatVersion {
		t.Fatalf("format version %d after upgrade, want %d", got, formatVersion)
	}
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{sumRec(id, now.Unix(), 0, "s")}})
	if ids, _, err := scanIDs(s, everything(store.ByStart)); err != nil || len(ids) != 1 {
		t.Fatalf("scan after upgrade: %v %v", ids, err)
	}
}

// TestSummaryLimits checks input validation and clamping of out-of-range
// seconds.
func TestSummaryLimits(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	id := traceAt(now, 1)
	err := s.Write(context.Background(), &store.Batch{Summaries: []store.SummaryRecord{{TraceID: id, Summary: make([]byte, maxSummarySize+1)}}})
	if err == nil || !strings.Contains(err.Error(), "summary 0 (trace "+id.String()) {
		t.Fatalf("an oversized summary: %v", err)
	}
	// End beyond the uint32 range sorts last, before 0 first.
	a, b := traceAt(now, 2), traceAt(now, 3)
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{sumRec(a, 1<<40, 0, "a"), sumRec(b, -5, 0, "b")}})
	ids, _, err := scanIDs(s, store.SummaryScan{Order: store.ByEnd, From: -1 << 50, To: 1 << 50})
	if err != nil || len(ids) != 2 || ids[0] != a || ids[1] != b {
		t.Fatalf("ByEnd with out-of-range ends: %v %v", ids, err)
	}
	for _, err := range s.ScanSummaries(context.Background(), store.SummaryScan{Order: 9, To: 1}) {
		if err == nil {
			t.Fatal("an unknown order was accepted")
		}
	}
}

// TestScanBodyPanics: a panic in the loop body leaves no iterator open.
func TestScanBodyPanics(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	id := traceAt(now, 1)
	mustWriteBatch(t, s, &store.Batch{
		Records:   []store.Record{rec(id, 1, now)},
		Summaries: []store.SummaryRecord{sumRec(id, now.Unix(), 0, "x", 1)},
	})
	for _, q := range []store.SummaryScan{everything(store.ByStart), everything(store.ByEnd), everything(store.ByStart, 1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			for range s.ScanSummaries(context.Background(), q) {
				panic("in the loop body")
			}
		}()
	}
	closeStore(t, s) // Pebble fails Close on leaked iterators
}

// TestIDsMerger checks the union of trace lists: any order of operands,
// duplicates, and malformed operands.
func TestIDsMerger(t *testing.T) {
	id := func(n byte) []byte {
		x := traceAt(time.Unix(1, 0), uint32(n))
		return x[:]
	}
	cat := func(ids ...[]byte) []byte {
		var b []byte
		for _, x := range ids {
			b = append(b, x...)
		}
		return b
	}
	f := func(want []byte, newer bool, operands ...[]byte) {
		t.Helper()
		key := termKey(nil, 1, 7)
		m, err := merger.Merge(key, operands[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range operands[1:] {
			if newer {
				err = m.MergeNewer(op)
			} else {
				err = m.MergeOlder(op)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		got, _, err := m.Finish(true)
		if err != nil || string(got) != string(want) {
			t.Fatalf("merge of %x: %x, %v; want %x", operands, got, err, want)
		}
	}
	f(cat(id(1)), true, cat(id(1)))
	f(cat(id(1), id(2), id(3)), true, cat(id(2)), cat(id(1), id(3)))
	f(cat(id(1), id(2), id(3)), false, cat(id(2), id(3)), cat(id(1), id(3)), cat(id(2)))
	f(cat(id(1), id(2)), true, cat(id(1), []byte{9, 9}), cat(id(2)))
	f(nil, true, []byte{1, 2, 3})

	// The operands are the caller's: the merger copies them.
	op := cat(id(5))
	m, _ := merger.Merge(termKey(nil, 1, 7), op)
	op[15] = 0xff
	if got, _, _ := m.Finish(true); string(got) != string(id(5)) {
		t.Fatalf("the merger kept a reference to its operand: %x", got)
	}
	// Reference lists (j keys) are 8 bytes wide.
	r8 := func(n byte) []byte { return []byte{0, 0, 0, 0, 0, 0, 1, n} }
	m, _ = merger.Merge(refKey(nil, 1, 7, refByEpoch), cat(r8(3), r8(1)))
	_ = m.MergeOlder(cat(r8(2), r8(3), []byte{9}))
	if got, _, _ := m.Finish(true); string(got) != string(cat(r8(1), r8(2), r8(3))) {
		t.Fatalf("reference merge: %x", got)
	}
	// Count keys still sum.
	m, _ = merger.Merge(countKey(nil, 1), binary.AppendVarint(nil, 3))
	_ = m.MergeNewer(binary.AppendVarint(nil, 4))
	if got, _, _ := m.Finish(true); decodeCount(got) != 7 {
		t.Fatalf("count merge: %x", got)
	}
}
