package pebblestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
)

// benchGraphKey is a counter key shaped like package graph's: a kind byte,
// then length-prefixed name, type and account (an edge: two of them).
func benchGraphKey(i int) string {
	node := func(j int) string {
		name, typ := fmt.Sprintf("service-%03d", j), "AWS::Lambda::Function"
		if j%3 == 0 {
			typ = "AWS::DynamoDB::Table"
		}
		return string(appendString(appendString(appendString(nil, name), typ), "123456789012"))
	}
	if i%2 == 0 {
		return "n" + node(i/2)
	}
	return "e" + node(i/2) + node(i/2+1) + "\x00"
}

// benchGraphValues returns about 20 counters like a busy key's in a
// minute: request counts, a response time sum, histogram buckets.
func benchGraphValues(rnd *rand.Rand, scale float64) []store.Counter {
	cs := []store.Counter{
		{Index: 0, Value: float64(rnd.IntN(500)+1) * scale},
		{Index: 1, Value: float64(rnd.IntN(5)) * scale},
		{Index: 3, Value: float64(rnd.IntN(3)) * scale},
		{Index: 4, Value: float64(rnd.IntN(50_000_000)) * scale},
		{Index: 5, Value: float64(rnd.IntN(500)) * scale},
	}
	for b := range 8 {
		cs = append(cs, store.Counter{Index: 65536 + uint32(10+b), Value: float64(rnd.IntN(100)+1) * scale})
	}
	for b := range 7 {
		cs = append(cs, store.Counter{Index: 131072 + uint32(12+b), Value: float64(rnd.IntN(100)+1) * scale})
	}
	return cs
}

// BenchmarkGraphCounters reads an hour of a group's counters: 60 minutes ×
// 500 keys × 20 counters, among three other groups of 100 keys each. Each
// minute was written as `operands` Writes (one merge operand each per key);
// "compacted" reads after a full compaction (merged values), "fresh"
// before, with the operands in memtables and L0, as the last minutes are.
func BenchmarkGraphCounters(b *testing.B) {
	const minutes, keys = 60, 500
	f := func(name string, operands int, compact bool) {
		b.Run(name, func(b *testing.B) {
			s := openTest(b, Options{NoSync: true, Logger: quiet})
			ctx := context.Background()
			rnd := rand.New(rand.NewPCG(1, 2))
			M := time.Now().Unix()/60 - minutes
			for m := range int64(minutes) {
				for range operands {
					batch := &store.Batch{}
					for k := range keys {
						batch.Graph = append(batch.Graph, store.GraphDelta{Minute: M + m, Key: benchGraphKey(k), Values: benchGraphValues(rnd, 1)})
					}
					for g := range 3 {
						for k := range 100 {
							batch.Graph = append(batch.Graph, store.GraphDelta{Minute: M + m, Group: fmt.Sprint("group-", g), Key: benchGraphKey(k), Values: benchGraphValues(rnd, 1)})
						}
					}
					mustWriteBatch(b, s, batch)
				}
			}
			diskPerRow := 0.0
			if compact {
				if err := s.Compact(ctx); err != nil {
					b.Fatal(err)
				}
				n, err := s.db.EstimateDiskUsage([]byte{prefixGraph}, []byte{prefixGraph + 1})
				if err != nil {
					b.Fatal(err)
				}
				diskPerRow = float64(n) / float64(minutes*(keys+300))
			}
			b.ResetTimer()
			rows, values := 0, 0
			for b.Loop() {
				rows, values = 0, 0
				for row, err := range s.GraphCounters(ctx, "", M, M+minutes) {
					if err != nil {
						b.Fatal(err)
					}
					rows++
					values += len(row.Values)
				}
			}
			if rows != minutes*keys {
				b.Fatalf("%d rows, want %d", rows, minutes*keys)
			}
			if compact {
				b.ReportMetric(diskPerRow, "disk-B/row")
			}
			b.ReportMetric(float64(rows), "rows/op")
			b.ReportMetric(float64(values)/float64(rows), "counters/row")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
		})
	}
	f("compacted", 1, true)
	f("compacted-10-operands", 10, true)
	f("fresh-10-operands", 10, false)
}

// BenchmarkWriteGraphDeltas writes the graph deltas of batches of 1,000
// traces as the summarizer sends them: each trace adds to 3 nodes and 2
// edges (of 100 services) in the current minute, for the Default group and,
// for a third of the traces, one other group; repeated keys are summed
// before the write. ns/op is per Write (NoSync: CPU, not fsync).
func BenchmarkWriteGraphDeltas(b *testing.B) {
	s := openTest(b, Options{NoSync: true, Logger: quiet})
	rnd := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	const traces = 1000
	batches := make([]*store.Batch, 64)
	deltas := 0
	for i := range batches {
		batch := &store.Batch{}
		for range traces {
			svc := rnd.IntN(98)
			groups := []string{""}
			if rnd.IntN(3) == 0 {
				groups = append(groups, "errors")
			}
			for _, g := range groups {
				for k := range 5 {
					key := benchGraphKey(2*(svc+k/2) + k%2)
					vs := []store.Counter{{Index: 0, Value: 1}, {Index: 4, Value: float64(rnd.IntN(200_000))}, {Index: 65536 + uint32(rnd.IntN(30)), Value: 1}}
					batch.Graph = append(batch.Graph, store.GraphDelta{Minute: time.Now().Unix() / 60, Group: g, Key: key, Values: vs})
				}
			}
		}
		deltas += len(batch.Graph)
		batches[i] = batch
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if err := s.Write(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(deltas)/float64(len(batches)), "deltas/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(deltas)/float64(len(batches))), "ns/delta")
}
