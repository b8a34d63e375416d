package storetest

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func testWriteReadBack(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	at := now()
	a, b := traceID(sec(at), 1), traceID(sec(at)-5, 2)
	rnd := rand.New(rand.NewPCG(1, 2))
	binary := make([]byte, 300)
	for i := range binary {
		binary[i] = byte(rnd.Uint32()) // NULs, invalid UTF-8: documents are opaque bytes
	}
	r := at.UnixNano()
	write(t, s, m, &store.Batch{Records: []store.Record{
		record(a, 0x1111111111111111, r, ""),
		record(b, 0x2222222222222222, r+1, `,"http":{"request":{"url":"https://example.com/ä?q=\"x\""}}`),
		// Documents that do not contain their IDs.
		{TraceID: a, ID: 0x3333333333333333, Received: r + 2, Doc: []byte(`{"name":"no ids here"}`)},
		{TraceID: b, ID: 0x4444444444444444, Received: r + 3, Doc: binary},
		// Zero segment ID, and a document naming another segment's ID.
		{TraceID: a, ID: 0, Received: r + 4, Doc: doc(a, 0x1111111111111111, "")},
		{TraceID: a, ID: 0x5555555555555555, Received: r + 5, Doc: []byte("x")},
	}})
	m.check(t, s)
}

func testManyTraces(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	rnd := rand.New(rand.NewPCG(3, 4))
	base := now()
	ids := make([]xrayid.TraceID, 300)
	for i := range ids {
		ids[i] = traceID(sec(base)-uint32(rnd.IntN(3600)), uint64(i+1))
	}
	r := base.UnixNano()
	for range 5 {
		b := &store.Batch{}
		for range 400 {
			id := ids[rnd.IntN(len(ids))]
			r += int64(rnd.IntN(1000))
			b.Records = append(b.Records, record(id, xrayid.SegmentID(rnd.Uint64()), r, ""))
		}
		write(t, s, m, b)
	}
	m.check(t, s)
}

// testLateSegments spreads one trace over many batches, among other traces.
func testLateSegments(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	late := traceID(sec(base)-60, 42)
	r := base.UnixNano()
	for i := range 30 {
		b := &store.Batch{}
		for j := range 20 {
			other := traceID(sec(base), uint64(1000+i*20+j))
			b.Records = append(b.Records, record(other, xrayid.SegmentID(i*100+j+1), r, ""))
		}
		r += 1000
		b.Records = append(b.Records, record(late, xrayid.SegmentID(i+1), r, ""))
		write(t, s, m, b)
	}
	m.check(t, s)
}

// testReceivedOrder checks that records come back by Received, ties in write
// order, whatever order the batches came in.
func testReceivedOrder(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	id := traceID(sec(base), 7)
	r := base.UnixNano()
	write(t, s, m, &store.Batch{Records: []store.Record{
		record(id, 1, r+50, ""),
		record(id, 2, r+10, ""),
		record(id, 3, r+50, ""),
	}})
	write(t, s, m, &store.Batch{Records: []store.Record{
		record(id, 4, r, ""),
		record(id, 5, r+50, ""),
		record(id, 6, r+10, ""),
	}})
	m.check(t, s)
	got := readOne(t, s, id)
	var order []xrayid.SegmentID
	for _, rec := range got.Records {
		order = append(order, rec.ID)
	}
	want := []xrayid.SegmentID{4, 2, 6, 1, 3, 5}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
}

func testDuplicates(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	id := traceID(sec(base), 9)
	r := base.UnixNano()
	rec := record(id, 0xabcdef0123456789, r, "")
	progress := record(id, 0xabcdef0123456789, r+1, `,"in_progress":true`)
	write(t, s, m, &store.Batch{Records: []store.Record{rec, rec, progress}})
	write(t, s, m, &store.Batch{Records: []store.Record{rec}}) // a retried batch
	m.check(t, s)
	if n := len(readOne(t, s, id).Records); n != 4 {
		t.Fatalf("%d records, want all 4 (duplicates kept)", n)
	}
}

func testUnknownIDs(t *testing.T, h *harness) {
	s := h.open(t)
	base := now()
	known := traceID(sec(base), 1)
	write(t, s, nil, &store.Batch{Records: []store.Record{record(known, 1, base.UnixNano(), "")}})
	unknown := []xrayid.TraceID{
		traceID(sec(base), 2),       // same second
		traceID(sec(base)-86400, 1), // same random part, other second
		{},                          // zero
		traceID(0xffffffff, 3),      // implausible epoch
		xrayid.TraceID([]byte(known.String()[:16])), // text bytes, not an ID
	}
	got := readAll(t, s, append(append([]xrayid.TraceID{unknown[0]}, known), unknown[1:]...))
	if len(got) != 1 || got[0].ID != known {
		t.Fatalf("got %d traces, want only %s", len(got), known)
	}
	if got := readAll(t, s, unknown); len(got) != 0 {
		t.Fatalf("unknown IDs yielded %d traces", len(got))
	}
	if got := readAll(t, s, nil); len(got) != 0 {
		t.Fatalf("no IDs yielded %d traces", len(got))
	}
}

func testRequestOrder(t *testing.T, h *harness) {
	s := h.open(t)
	base := now()
	a, b, c := traceID(sec(base)-2, 1), traceID(sec(base)-1, 2), traceID(sec(base), 3)
	write(t, s, nil, &store.Batch{Records: []store.Record{
		record(a, 1, base.UnixNano(), ""), record(b, 2, base.UnixNano(), ""), record(c, 3, base.UnixNano(), ""),
	}})
	f := func(req, want []xrayid.TraceID) {
		t.Helper()
		got := readAll(t, s, req)
		if len(got) != len(want) {
			t.Fatalf("request %v: %d traces, want %d", req, len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i] {
				t.Fatalf("request %v: trace %d is %s, want %s", req, i, got[i].ID, want[i])
			}
		}
	}
	f([]xrayid.TraceID{c, a, b}, []xrayid.TraceID{c, a, b})
	f([]xrayid.TraceID{c, a, c, b, a}, []xrayid.TraceID{c, a, b})
	// Past the point where a backend might switch to a map for duplicates.
	var many, want []xrayid.TraceID
	for i := range 40 {
		many = append(many, []xrayid.TraceID{b, c, a}[i%3])
	}
	want = []xrayid.TraceID{b, c, a}
	f(many, want)
	var unknown []xrayid.TraceID
	for i := range 20 {
		unknown = append(unknown, traceID(1, uint64(i)))
	}
	many = append(unknown, many...)
	f(many, []xrayid.TraceID{b, c, a})
}

func testEmptyBatch(t *testing.T, h *harness) {
	s := h.open(t)
	write(t, s, nil, &store.Batch{})
	write(t, s, nil, &store.Batch{Records: []store.Record{}})
	base := now()
	m := newModel()
	write(t, s, m, &store.Batch{Records: []store.Record{record(traceID(sec(base), 1), 1, base.UnixNano(), "")}})
	write(t, s, nil, &store.Batch{})
	m.check(t, s)
}

func testLargeDocuments(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	rnd := rand.New(rand.NewPCG(5, 6))
	big := func(trace xrayid.TraceID, id xrayid.SegmentID, compressible bool) store.Record {
		d := make([]byte, 64<<10)
		for i := range d {
			if compressible {
				d[i] = "abcdefgh"[i%8]
			} else {
				d[i] = byte(rnd.Uint32())
			}
		}
		copy(d, doc(trace, id, ""))
		return store.Record{TraceID: trace, ID: id, Received: base.UnixNano() + int64(id), Doc: d}
	}
	a, b := traceID(sec(base), 1), traceID(sec(base), 2)
	write(t, s, m, &store.Batch{Records: []store.Record{
		big(a, 1, false), big(b, 2, true), big(a, 3, true), big(a, 4, false), record(b, 5, base.UnixNano(), ""),
	}})
	write(t, s, m, &store.Batch{Records: []store.Record{big(b, 6, false)}})
	m.check(t, s)
}

func testLargeTrace(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	big := traceID(sec(base)-30, 77)
	r := base.UnixNano()
	b := &store.Batch{}
	for i := range 5000 {
		b.Records = append(b.Records, record(big, xrayid.SegmentID(i+1), r+int64(i), `,"annotations":{"n":`+strconv.Itoa(i)+`}`))
		if i%100 == 0 {
			b.Records = append(b.Records, record(traceID(sec(base), uint64(i)), 1, r, ""))
		}
	}
	write(t, s, m, b)
	for j := range 4 {
		b := &store.Batch{}
		for i := range 500 {
			n := 5000 + j*500 + i
			b.Records = append(b.Records, record(big, xrayid.SegmentID(n+1), r+int64(n), ""))
		}
		write(t, s, m, b)
	}
	m.check(t, s)
}

// testCallerMutation checks that a backend keeps no reference to the batch.
func testCallerMutation(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	base := now()
	a, b := traceID(sec(base), 1), traceID(sec(base), 2)
	batch := &store.Batch{Records: []store.Record{
		record(a, 1, base.UnixNano(), ""), record(b, 2, base.UnixNano(), ""), record(a, 3, base.UnixNano(), ""),
	}}
	write(t, s, m, batch)
	for i := range batch.Records {
		r := &batch.Records[i]
		for j := range r.Doc {
			r.Doc[j] = 'X'
		}
		r.ID, r.Received = 0, 0
	}
	batch.Records[0], batch.Records[1] = batch.Records[1], batch.Records[0]
	batch.Records = batch.Records[:1]
	m.check(t, s)

	// And the returned documents are the caller's: mutating them changes
	// nothing stored.
	got := readOne(t, s, a)
	for _, r := range got.Records {
		for j := range r.Doc {
			r.Doc[j] = 'Y'
		}
	}
	m.check(t, s)
}
