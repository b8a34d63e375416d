package pebblestore

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// arrivalID is a trace ID whose epoch is far in the future, so that it is
// placed by arrival, with random-looking bytes set from n.
func arrivalID(n uint32) xrayid.TraceID {
	var id xrayid.TraceID
	binary.BigEndian.PutUint32(id[:4], 0xf0000000|n<<8)
	binary.BigEndian.PutUint32(id[4:], n*0x9e3779b9)
	binary.BigEndian.PutUint64(id[8:], uint64(n)*0x9e3779b97f4a7c15)
	return id
}

// posOf returns the ByStart position of a stored trace.
func posOf(t *testing.T, s *Store, id xrayid.TraceID) store.Position {
	t.Helper()
	for row, err := range s.Summaries(context.Background(), []xrayid.TraceID{id}) {
		if err != nil {
			t.Fatal(err)
		}
		return row.Pos
	}
	t.Fatalf("no summary of %s", id)
	return store.Position{}
}

// wantScan checks that a scan yields want, in that order.
func wantScan(t *testing.T, s *Store, q store.SummaryScan, want ...xrayid.TraceID) {
	t.Helper()
	got, _, err := scanIDs(s, q)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("scan %+v: %v, %v; want %v", q, got, err, want)
	}
}

// TestTermsWrittenByFormat3 reads term lists written the format 3 way (i
// keys listing 16-byte IDs) beside format 4's references: a store upgraded
// in place finds its old traces by term, a trace listed under both is
// yielded once, paging works across them, and counts add both up.
func TestTermsWrittenByFormat3(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	T := now.Unix()
	a, b, c := traceAt(now, 1), traceAt(now, 2), traceAt(now, 3)
	d := arrivalID(1)
	b0 := &store.Batch{}
	for _, id := range []xrayid.TraceID{a, b, c, d} {
		b0.Records = append(b0.Records, rec(id, 1, now))
		b0.Summaries = append(b0.Summaries, sumRec(id, T, 0, id.String()))
	}
	mustWriteBatch(t, s, b0)
	dPos := posOf(t, s, d)
	if dPos.Sec == int64(d.Epoch()) {
		t.Fatalf("trace %s placed at its epoch", d)
	}
	// What a format 3 build wrote for term 7: a and b at T, d at its arrival.
	old := map[int64][]xrayid.TraceID{T: {a, b}}
	old[dPos.Sec] = append(old[dPos.Sec], d)
	for sec, ids := range old {
		slices.SortFunc(ids, compareTraceIDs)
		var v []byte
		for _, id := range ids {
			v = append(v, id[:]...)
		}
		rawSet(t, s, termKey(nil, uint32(sec), 7), v)
	}
	rawSet(t, s, metaFormatKey, binary.AppendUvarint(nil, 3))
	s = reopenTest(t, s)
	if v, closer, err := s.db.Get(metaFormatKey); err != nil {
		t.Fatal(err)
	} else {
		got, _ := binary.Uvarint(v)
		closer.Close()
		if got != formatVersion {
			t.Fatalf("format version %d after upgrade, want %d", got, formatVersion)
		}
	}
	// New revisions index b (again), c and d under 7 the format 4 way.
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{
		sumRec(b, T+1, T, "b2", 7), sumRec(c, T+1, T, "c2", 7), sumRec(d, T+1, T, "d2", 7),
	}})
	if n := keysByPrefix(t, s); n[prefixTerm] != len(old) || n[prefixRef] != 2 {
		t.Fatalf("keys %v: want %d old term keys and 2 new ones (two kinds)", n, len(old))
	}
	want := []xrayid.TraceID{c, b, a}
	if dPos.Sec > T {
		want = append([]xrayid.TraceID{d}, want...)
	} else {
		want = append(want, d) // d's position: its arrival second, at most T
		slices.SortFunc(want, func(x, y xrayid.TraceID) int {
			return -comparePos(posOf(t, s, x), posOf(t, s, y))
		})
	}
	wantScan(t, s, everything(store.ByStart, 7), want...)
	wantScan(t, s, everything(store.ByStart, 7, 8), want...)
	for i := range want {
		p := posOf(t, s, want[i])
		q := everything(store.ByStart, 7)
		q.Before = &p
		wantScan(t, s, q, want[i+1:]...)
	}
	if n, err := s.CountTerm(context.Background(), 7, 0, 1<<40, 100); err != nil || n != 6 {
		t.Fatalf("CountTerm: %d, %v; want 6 (3 old IDs, 3 new references)", n, err)
	}
	// Retention drops both.
	if err := s.DropBefore(context.Background(), now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixTerm]+n[prefixRef] != 0 {
		t.Fatalf("keys %v after dropping everything", n)
	}
}

func comparePos(a, b store.Position) int {
	if a.Sec != b.Sec {
		if a.Sec < b.Sec {
			return -1
		}
		return 1
	}
	return compareTraceIDs(a.TraceID, b.TraceID)
}

// TestTermReferenceShared: two traces of one second whose IDs share the 8
// bytes a reference keeps are both yielded under a term only one of them
// has (the caller re-checks every row), in order and once each, and a scan
// resumed between them yields only the lower one.
func TestTermReferenceShared(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	T := now.Unix()
	e1, e2 := traceAt(now, 5), traceAt(now, 5) // by epoch: ID[4:12] shared
	e2[15] ^= 0xff
	r1, r2 := arrivalID(9), arrivalID(9) // by arrival: ID[0:8] shared
	r2[15] ^= 0xff
	other := traceAt(now, 6)
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{
		sumRec(e1, T, 0, "e1", 3), sumRec(e2, T, 0, "e2"), sumRec(r1, T, 0, "r1"), sumRec(r2, T, 0, "r2", 3),
		sumRec(other, T, 0, "other", 4),
	}})
	es, rs := []xrayid.TraceID{e1, e2}, []xrayid.TraceID{r1, r2}
	desc := func(ids []xrayid.TraceID) []xrayid.TraceID {
		ids = slices.Clone(ids)
		slices.SortFunc(ids, func(x, y xrayid.TraceID) int {
			return -comparePos(posOf(t, s, x), posOf(t, s, y))
		})
		return ids
	}
	all := desc(append(es, rs...))
	wantScan(t, s, everything(store.ByStart, 3), all...)
	wantScan(t, s, everything(store.ByStart, 3, 4), desc(append(all, other))...)
	for i := range all {
		p := posOf(t, s, all[i])
		q := everything(store.ByStart, 3)
		q.Before = &p
		wantScan(t, s, q, all[i+1:]...)
	}
	if n, err := s.CountTerm(context.Background(), 3, 0, 1<<40, 100); err != nil || n != 2 {
		t.Fatalf("CountTerm: %d, %v; want 2", n, err)
	}
}

// TestDenseTerms: once a term is in half of a bucket's summaries, Writes
// stop listing traces under it and mark the bucket dense; scans and counts
// of it read the bucket's summaries instead, yielding every trace that has
// it (and, the documented cost, others of the bucket), paging included,
// after a restart too, until retention drops the marker with its bucket.
func TestDenseTerms(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	hour := time.Now().Truncate(time.Hour).Add(-2 * time.Hour)
	const n = denseMinSummaries + 500
	var all, tens []xrayid.TraceID
	for i := 0; i < n; i += 100 {
		b := &store.Batch{}
		for j := i; j < min(i+100, n); j++ {
			at := hour.Add(time.Duration(j) * time.Second)
			id := traceAt(at, uint32(j))
			terms := []store.Term{1}
			if j%10 == 0 {
				terms = append(terms, 2)
				tens = append(tens, id)
			}
			all = append(all, id)
			b.Summaries = append(b.Summaries, sumRec(id, at.Unix(), 0, id.String(), terms...))
		}
		mustWriteBatch(t, s, b)
	}
	// A trace without the term, written after the bucket became dense.
	late := traceAt(hour.Add(n*time.Second), n)
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{sumRec(late, hour.Unix()+n, 0, "late", 3)}})
	all = append(all, late)

	refs := func(term store.Term) (keys int, marked bool) {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixRef}, UpperBound: []byte{prefixRef + 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			k := it.Key()
			if store.Term(binary.BigEndian.Uint64(k[5:])) != term {
				continue
			}
			if k[len(k)-1] == refDense {
				marked = true
			} else {
				keys++
			}
		}
		return keys, marked
	}
	if keys, marked := refs(1); !marked || keys >= n || keys < denseMinSummaries/2 {
		t.Fatalf("term 1: %d reference keys, marked %v; want a marker and the keys of the first ~%d traces only",
			keys, marked, denseMinSummaries/2)
	}
	if keys, marked := refs(2); marked || keys != len(tens) {
		t.Fatalf("term 2: %d reference keys, marked %v; want %d, no marker", keys, marked, len(tens))
	}
	desc := func(ids []xrayid.TraceID) []xrayid.TraceID {
		ids = slices.Clone(ids)
		slices.SortFunc(ids, func(x, y xrayid.TraceID) int { return -compareTraceIDs(x, y) }) // one per second: ID order is position order
		return ids
	}
	check := func() {
		t.Helper()
		wantScan(t, s, everything(store.ByStart, 1), desc(all)...)
		wantScan(t, s, everything(store.ByStart, 1, 2), desc(all)...)
		wantScan(t, s, everything(store.ByStart, 2), desc(tens)...)
		d := desc(all)
		for _, i := range []int{0, 1, 700, len(d) - 1} {
			p := posOf(t, s, d[i])
			q := everything(store.ByStart, 1)
			q.Before = &p
			wantScan(t, s, q, d[i+1:]...)
		}
		q := everything(store.ByStart, 1)
		q.From, q.To = hour.Unix()+100, hour.Unix()+200
		wantScan(t, s, q, desc(all[100:200])...)
		if c, err := s.CountTerm(context.Background(), 1, 0, 1<<40, 5000); err != nil || c < n {
			t.Fatalf("CountTerm of the dense term: %d, %v; want at least %d", c, err, n)
		}
		if c, err := s.CountTerm(context.Background(), 1, 0, 1<<40, 10); err != nil || c != 10 {
			t.Fatalf("CountTerm up to 10: %d, %v", c, err)
		}
	}
	check()
	s = reopenTest(t, s)
	check()
	if err := s.DropBefore(context.Background(), hour.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if keys, marked := refs(1); keys != 0 || marked {
		t.Fatalf("term 1 after retention: %d keys, marked %v", keys, marked)
	}
}

// TestTermScansAgainstModel writes traces with terms of every density over
// a few hours, epoch and arrival placements mixed, and checks every term's
// scan against the model: each trace that has the term is yielded, once,
// in position order; a term that never became dense yields nothing else;
// a scan resumed anywhere yields the rest of the same sequence.
func TestTermScansAgainstModel(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	rnd := rand.New(rand.NewPCG(1, 2))
	base := time.Now().Truncate(time.Hour).Add(-3 * time.Hour)
	odds := map[store.Term]int{1: 95, 2: 60, 3: 30, 4: 3} // percent of traces
	has := map[store.Term]map[xrayid.TraceID]bool{}
	for term := range odds {
		has[term] = map[xrayid.TraceID]bool{}
	}
	const n = 3 * denseMinSummaries
	for i := 0; i < n; i += 200 {
		b := &store.Batch{}
		for j := i; j < i+200; j++ {
			at := base.Add(time.Duration(rnd.IntN(3*3600)) * time.Second)
			var id xrayid.TraceID
			binary.BigEndian.PutUint32(id[:4], uint32(at.Unix()))
			binary.BigEndian.PutUint64(id[4:], rnd.Uint64())
			binary.BigEndian.PutUint32(id[12:], rnd.Uint32())
			if j%4 == 0 {
				binary.BigEndian.PutUint32(id[:4], 0xf0000000|rnd.Uint32()>>4) // placed by arrival
			}
			var terms []store.Term
			for term, pct := range odds {
				if rnd.IntN(100) < pct {
					terms = append(terms, term)
					has[term][id] = true
				}
			}
			b.Records = append(b.Records, rec(id, 1, at))
			b.Summaries = append(b.Summaries, sumRec(id, at.Unix(), 0, id.String(), terms...))
		}
		mustWriteBatch(t, s, b)
	}
	for term := range odds {
		got, _, err := scanIDs(s, everything(store.ByStart, term))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[xrayid.TraceID]bool{}
		var last store.Position
		extra := 0
		for i, id := range got {
			p := posOf(t, s, id)
			if seen[id] || i > 0 && comparePos(p, last) >= 0 {
				t.Fatalf("term %d: %s twice or out of order", term, id)
			}
			seen[id], last = true, p
			if !has[term][id] {
				extra++
			}
		}
		for id := range has[term] {
			if !seen[id] {
				t.Fatalf("term %d: trace %s not yielded", term, id)
			}
		}
		if odds[term] < 50 && extra > 0 { // in less than half of the summaries: never dense
			t.Fatalf("term %d (%d%%, not dense): %d traces without it", term, odds[term], extra)
		}
		t.Logf("term %d (%d%%): %d yielded, %d with it", term, odds[term], len(got), len(has[term]))
		for _, i := range []int{0, len(got) / 3, len(got) - 1} {
			p := posOf(t, s, got[i])
			q := everything(store.ByStart, term)
			q.Before = &p
			wantScan(t, s, q, got[i+1:]...)
		}
	}
}
