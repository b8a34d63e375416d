package pebblestore

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
)

func counters(pairs ...float64) []store.Counter {
	var out []store.Counter
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, store.Counter{Index: uint32(pairs[i]), Value: pairs[i+1]})
	}
	return out
}

// TestGraphCodec round-trips counter vectors and checks the compact form.
func TestGraphCodec(t *testing.T) {
	f := func(in, want []store.Counter, size int) {
		t.Helper()
		v := appendCounters(nil, in)
		got, err := decodeCounters(nil, v)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("round trip of %v: %v %v, want %v", in, got, err, want)
		}
		if size > 0 && len(v) != size {
			t.Fatalf("%v encodes in %d bytes, want %d", in, len(v), size)
		}
	}
	f(nil, nil, 1)
	f(counters(0, 1), counters(0, 1), 3)
	f(counters(0, 1, 1, -1, 4, 1500), counters(0, 1, 1, -1, 4, 1500), 1+2+2+3)
	f(counters(0, 0, 3, 5, 7, 0), counters(3, 5), 3) // zeros are left out
	f(counters(2, math.Copysign(0, -1)), nil, 1)     // so is -0
	f(counters(65536+3, 1, 131072+9, 2), counters(65536+3, 1, 131072+9, 2), 1+3+1+3+1)
	f(counters(1, 1<<53, 2, -(1<<53)), counters(1, 1<<53, 2, -(1<<53)), 1+1+8+1+8)
	f(counters(1, 1<<53+2), counters(1, 1<<53+2), 1+1+8) // past 2^53: the float form
	f(counters(1, 0.5, 2, -1e300), counters(1, 0.5, 2, -1e300), 1+1+8+1+8)
	f([]store.Counter{{Index: math.MaxUint32, Value: 7}}, []store.Counter{{Index: math.MaxUint32, Value: 7}}, 0)
	f([]store.Counter{{Index: 0, Value: 1}, {Index: math.MaxUint32, Value: 7}}, []store.Counter{{Index: 0, Value: 1}, {Index: math.MaxUint32, Value: 7}}, 0)

	bad := func(v []byte) {
		t.Helper()
		if got, err := decodeCounters(nil, v); !errors.Is(err, errCorrupt) {
			t.Fatalf("decode of %x: %v %v, want errCorrupt", v, got, err)
		}
	}
	bad(nil)
	bad([]byte{2})                                                                     // a newer codec
	bad([]byte{graphCodec, 0x80})                                                      // truncated header
	bad([]byte{graphCodec, 0, 0x80})                                                   // truncated value
	bad([]byte{graphCodec, 1, 1, 2, 3})                                                // truncated float
	bad([]byte{graphCodec, 2, 2, 0, 2})                                                // index 1, then 1 again
	bad([]byte{graphCodec, 0x80, 0x80, 0x80, 0x80, 0x40, 2})                           // index 2^33
	bad(append([]byte{graphCodec, 0}, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)) // varint past 2^53
}

// TestGraphMerger checks the merge of counter vectors: any order of
// operands, malformed ones, cancellation.
func TestGraphMerger(t *testing.T) {
	key := append(graphPrefix(nil, 1, "g"), 'k')
	f := func(want []store.Counter, deleted, newer bool, operands ...[]byte) {
		t.Helper()
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
		v, _, err := m.Finish(true)
		if err != nil {
			t.Fatalf("merge of %x: %v", operands, err)
		}
		got, err := decodeCounters(nil, v)
		if deleted && (err != nil || len(got) != 0) {
			t.Fatalf("merge of %x: %v %v, want an empty vector", operands, got, err)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("merge of %x: %v %v, want %v", operands, got, err, want)
		}
	}
	enc := func(pairs ...float64) []byte { return appendCounters(nil, counters(pairs...)) }
	f(counters(0, 1), false, true, enc(0, 1))
	f(counters(0, 3, 2, 5, 9, 1), false, true, enc(0, 1, 2, 5), enc(0, 2), enc(9, 1))
	f(counters(0, 3, 2, 5, 9, 1), false, false, enc(9, 1), enc(0, 2), enc(0, 1, 2, 5))
	f(counters(2, 5), false, true, enc(0, 1, 2, 5), enc(0, -1))
	f(nil, true, true, enc(0, 1, 2, 5), enc(0, -1, 2, -5))
	f(nil, true, true, enc(), enc())
	f(counters(0, 1), false, true, []byte("garbage"), enc(0, 1), []byte{graphCodec, 0x80})
	f(nil, true, true, []byte("garbage"), enc(0, 1), enc(0, -1))

	// A lone operand is passed through as written, even one that sums to
	// zero (Write writes none) or a malformed one (reads report it).
	for _, op := range [][]byte{enc(0, 1, 5, 2), enc(), []byte("garbage")} {
		m, _ := merger.Merge(key, op)
		v, _, err := m.Finish(true)
		if err != nil || string(v) != string(op) {
			t.Fatalf("lone operand %x: %x, %v", op, v, err)
		}
	}

	// The operands are the caller's: the merger copies them.
	op := enc(0, 1)
	m, _ := merger.Merge(key, op)
	copy(op, enc(0, 9))
	v, _, _ := m.Finish(true)
	if got, _ := decodeCounters(nil, v); !slices.Equal(got, counters(0, 1)) {
		t.Fatalf("the merger kept a reference to its operand: %v", got)
	}
}

// TestGraphKeys checks the keys graph deltas make: one per (group, minute,
// key) and Write, none for sums of zero; merged keys that cancel out stay
// (as empty vectors) but are never read.
func TestGraphKeys(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	M := time.Now().Unix() / 60
	mustWriteBatch(t, s, &store.Batch{Graph: []store.GraphDelta{
		{Minute: M, Key: "a", Values: counters(0, 1)},
		{Minute: M, Key: "a", Values: counters(0, 1, 3, 2)},
		{Minute: M, Group: "g", Key: "a", Values: counters(0, 1)},
		{Minute: M + 1, Key: "a", Values: counters(0, 1)},
		{Minute: M, Key: "zero", Values: counters(0, 1)},
		{Minute: M, Key: "zero", Values: counters(0, -1)},
	}})
	if n := keysByPrefix(t, s); n[prefixGraph] != 3 {
		t.Fatalf("%d graph keys, want 3", n[prefixGraph])
	}
	// Cancel a; one key stays until compaction, but reads skip it.
	mustWriteBatch(t, s, &store.Batch{Graph: []store.GraphDelta{{Minute: M, Key: "a", Values: counters(0, -2, 3, -2)}}})
	rows := 0
	for _, err := range s.GraphCounters(ctx, "", M, M+1) {
		if err != nil {
			t.Fatal(err)
		}
		rows++
	}
	if rows != 0 {
		t.Fatalf("%d rows in a minute whose counters cancelled out", rows)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixGraph] != 3 {
		t.Fatalf("%d graph keys after compaction, want 3 (the cancelled one kept, empty)", n[prefixGraph])
	}
	for _, err := range s.GraphCounters(ctx, "", M, M+1) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal("a cancelled key is read after compaction")
	}
	// Counts survive compaction and go on adding up.
	mustWriteBatch(t, s, &store.Batch{Graph: []store.GraphDelta{{Minute: M + 1, Key: "a", Values: counters(0, 2)}}})
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	for row, err := range s.GraphCounters(ctx, "", M+1, M+2) {
		if err != nil || !slices.Equal(row.Values, counters(0, 3)) {
			t.Fatalf("after compactions: %v %v, want [{0 3}]", row, err)
		}
	}
}

// TestGraphRetentionRanges checks that DropBefore drops graph minutes to
// the minute.
func TestGraphRetentionRanges(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	cutoff := time.Now().Truncate(time.Minute).Add(-time.Hour + 30*time.Second)
	M := cutoff.Unix() / 60
	var ds []store.GraphDelta
	for _, m := range []int64{math.MinInt64, -5, M - 1, M, M + 1} {
		ds = append(ds, store.GraphDelta{Minute: m, Key: "k", Values: counters(0, 1)})
	}
	mustWriteBatch(t, s, &store.Batch{Graph: ds})
	if err := s.DropBefore(context.Background(), cutoff); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for row, err := range s.GraphCounters(context.Background(), "", math.MinInt64, math.MaxInt64) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row.Minute)
	}
	if !slices.Equal(got, []int64{M, M + 1}) {
		t.Fatalf("minutes after DropBefore(%s): %v, want [%d %d]", cutoff, got, M, M+1)
	}
}

// TestCorruptGraph damages graph keys and values: reads return errCorrupt.
func TestCorruptGraph(t *testing.T) {
	M := time.Now().Unix() / 60
	f := func(name string, k, v []byte) {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, Options{NoSync: true})
			mustWriteBatch(t, s, &store.Batch{Graph: []store.GraphDelta{{Minute: M, Key: "a", Values: counters(0, 1)}}})
			rawSet(t, s, k, v)
			var err error
			for _, err = range s.GraphCounters(context.Background(), "", math.MinInt64, math.MaxInt64) {
				if err != nil {
					break
				}
			}
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("read after damage: %v, want errCorrupt", err)
			}
		})
	}
	key := append(graphPrefix(nil, M, ""), 'a')
	f("value garbage", key, []byte{0xff, 0xff})
	f("value empty", key, nil)
	f("value truncated", key, []byte{graphCodec, 1, 0})
	f("key short", []byte{prefixGraph, 1, 2}, appendCounters(nil, counters(0, 1)))
}
