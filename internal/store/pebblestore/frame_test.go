package pebblestore

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func testCodec(t testing.TB) *codec {
	t.Helper()
	c, err := newCodec(3, 128<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

func TestFrameRoundTrip(t *testing.T) {
	c := testCodec(t)
	a := xrayid.MustParseTraceID("1-5759e988-bd862e3fe1be46a994272793")
	b := xrayid.MustParseTraceID("1-ffffffff-000000000000000000000001")
	f := func(name string, recs []store.Record) {
		t.Run(name, func(t *testing.T) {
			ptrs := make([]*store.Record, len(recs))
			for i := range recs {
				ptrs[i] = &recs[i]
			}
			payload, runs := appendPayload(nil, ptrs, nil)
			value := c.appendFrame(nil, payload)
			if value[0] != codecZstd {
				t.Fatalf("codec byte %d, want %d", value[0], codecZstd)
			}
			fr, buf, err := c.decodeFrame(value)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			defer c.release(buf)
			if len(fr.runs) != len(runs) {
				t.Fatalf("%d runs decoded, %d encoded", len(fr.runs), len(runs))
			}
			i := 0
			for ri, r := range fr.runs {
				tr, err := fr.trace(ri)
				if err != nil || tr != runs[ri] || r.start != i {
					t.Fatalf("run %d = %+v (trace %s, %v), want trace %s from %d", ri, r, tr, err, runs[ri], i)
				}
				for j := r.start; j < r.start+r.count; j++ {
					got, want := fr.recs[j], recs[i]
					id, err := fr.segmentID(j)
					if err != nil {
						t.Fatalf("record %d: %v", i, err)
					}
					if tr != want.TraceID || id != want.ID || got.received != want.Received || !bytes.Equal(got.doc, want.Doc) {
						t.Fatalf("record %d: got {%s %s %d %q}, want {%s %s %d %q}", i,
							tr, id, got.received, got.doc, want.TraceID, want.ID, want.Received, want.Doc)
					}
					i++
				}
			}
			if i != len(recs) {
				t.Fatalf("%d records decoded, want %d", i, len(recs))
			}
		})
	}
	rec := func(tr xrayid.TraceID, id xrayid.SegmentID, received int64, doc string) store.Record {
		return store.Record{TraceID: tr, ID: id, Received: received, Doc: []byte(doc)}
	}
	named := func(tr xrayid.TraceID, id xrayid.SegmentID) string {
		return fmt.Sprintf(`{"trace_id":"%s","id":"%s"}`, tr, id)
	}
	f("one", []store.Record{rec(a, 0x70de5b6f19ff9a0a, 1764067200123456789, named(a, 0x70de5b6f19ff9a0a))})
	f("IDs by reference and raw", []store.Record{
		rec(a, 0x70de5b6f19ff9a0a, 5, named(a, 0x70de5b6f19ff9a0a)),
		rec(a, 1, 5, "no ids"),
		rec(b, 2, 6, "no ids either"),
		rec(b, 0x0000000000000003, 7, named(b, 3)), // leading zeros in hex
	})
	f("empty and binary documents", []store.Record{
		rec(a, 0, 0, ""),
		rec(a, 9, -1, "\x00\xff\x00"),
		rec(b, 10, 1<<62, ""),
	})
	f("received spanning int64", []store.Record{
		rec(a, 1, -1<<63, "x"),
		rec(a, 2, 1<<63-1, "y"),
	})
	f("ID text at the very end", []store.Record{
		rec(a, 0x00000000000000ab, 1, "..."+a.String()+"..00000000000000ab"),
	})
}

// TestFrameCorruption damages valid frames in many ways: decoding must
// return an error, never panic, and never claim success with wrong data.
func TestFrameCorruption(t *testing.T) {
	c := testCodec(t)
	a := xrayid.MustParseTraceID("1-5759e988-bd862e3fe1be46a994272793")
	var recs []*store.Record
	for i := range 20 {
		id := xrayid.SegmentID(i + 1)
		doc := fmt.Appendf(nil, `{"trace_id":"%s","id":"%s","n":%d}`, a, id, i)
		if i%3 == 0 {
			doc = []byte("raw")
		}
		recs = append(recs, &store.Record{TraceID: a, ID: id, Received: int64(i), Doc: doc})
	}
	payload, _ := appendPayload(nil, recs, nil)
	value := c.appendFrame(nil, payload)

	check := func(name string, v []byte) {
		t.Helper()
		f, buf, err := c.decodeFrame(v)
		if err == nil {
			err = resolveAll(f, recs)
		}
		if err == nil {
			c.release(buf)
			// zstd's checksum catches nearly everything; what it lets
			// through must still decode to the original.
			if len(f.recs) != len(recs) {
				t.Fatalf("%s: decoded %d records without error", name, len(f.recs))
			}
			return
		}
		if !errors.Is(err, errCorrupt) {
			t.Fatalf("%s: error %v does not wrap errCorrupt", name, err)
		}
	}
	check("empty", nil)
	check("codec byte only", value[:1])
	check("unknown codec", append([]byte{99}, value[1:]...))
	for n := 1; n < len(value); n += max(1, len(value)/97) {
		check(fmt.Sprintf("truncated to %d", n), value[:n])
	}
	for i := 1; i < len(value); i++ {
		for _, bit := range []byte{0x01, 0x80} {
			v := bytes.Clone(value)
			v[i] ^= bit
			check(fmt.Sprintf("bit %#x at %d", bit, i), v)
		}
	}

	// Payload damage behind a valid zstd frame: what the checksum cannot
	// catch.
	for i := range payload {
		for _, x := range []byte{0x01, 0x7f, 0xff} {
			p := bytes.Clone(payload)
			p[i] ^= x
			if f, err := decodePayload(p); err == nil {
				_ = resolveAll(f, nil) // must not panic
			}
		}
	}
	for n := range len(payload) {
		if _, err := decodePayload(payload[:n]); err == nil && n < len(payload) {
			// Only a cut inside the documents can parse, and then the
			// lengths no longer add up.
			t.Fatalf("payload truncated to %d of %d bytes decoded", n, len(payload))
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	a := xrayid.MustParseTraceID("1-5759e988-bd862e3fe1be46a994272793")
	recs := []*store.Record{
		{TraceID: a, ID: 1, Received: 10, Doc: fmt.Appendf(nil, `{"trace_id":"%s","id":"0000000000000001"}`, a)},
		{TraceID: a, ID: 2, Received: 5, Doc: []byte("x")},
	}
	p, _ := appendPayload(nil, recs, nil)
	f.Add(p)
	f.Add([]byte{})
	f.Add([]byte{1, 1, 1, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		fr, err := decodePayload(p)
		if err != nil {
			return
		}
		_ = resolveAll(fr, nil)
		n := 0
		for _, r := range fr.runs {
			if r.start != n || r.count <= 0 || r.start+r.count > len(fr.recs) {
				t.Fatalf("bad run %+v with %d records", r, len(fr.recs))
			}
			n += r.count
		}
	})
}

// resolveAll resolves every ID reference of f; with want, it also compares
// the records with what was written.
func resolveAll(f *frame, want []*store.Record) error {
	for i := range f.runs {
		if _, err := f.trace(i); err != nil {
			return err
		}
	}
	for i := range f.recs {
		id, err := f.segmentID(i)
		if err != nil {
			return err
		}
		if want != nil && (len(want) != len(f.recs) || id != want[i].ID || !bytes.Equal(f.recs[i].doc, want[i].Doc)) {
			return fmt.Errorf("record %d differs: %w", i, errCorrupt)
		}
	}
	return nil
}
