package loadgen

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGenerate measures the cost of generating documents.
func BenchmarkGenerate(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			sc, _ := New(name, 1)
			start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			docs, size := 0, 0
			for i := 0; b.Loop(); i++ {
				for _, d := range sc.Trace(i, start).Docs {
					docs++
					size += len(d.JSON)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(docs), "ns/doc")
			b.ReportMetric(float64(size)/float64(docs), "B/doc")
		})
	}
}

// drain is a UDP socket whose reader discards everything, so that a
// benchmark measures the sender on a realistic loopback path.
func drain(b *testing.B) (addr string, received *atomic.Int64) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	received = new(atomic.Int64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<16)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	b.Cleanup(func() { conn.Close(); <-done })
	return conn.LocalAddr().String(), received
}

// BenchmarkSendUDP measures one sender writing pre-generated ~1.3 KB
// documents as datagrams.
func BenchmarkSendUDP(b *testing.B) {
	addr, received := drain(b)
	sc, _ := New("large", 1)
	var docs [][]byte
	for i := 0; len(docs) < 4096; i++ {
		for _, d := range sc.Trace(i, time.Now()).Docs {
			docs = append(docs, d.JSON)
		}
	}
	tr, err := dialUDP(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.close()
	ctx := context.Background()
	n := 0
	for b.Loop() {
		if t := tr.send(ctx, docs[n%len(docs)]); t.errors != 0 {
			b.Fatal(t.err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "datagrams/s")
	b.ReportMetric(float64(received.Load())/float64(n), "received/sent")
}

// BenchmarkRunUDP measures Run end to end (generation and sending) with
// two senders, as fast as possible.
func BenchmarkRunUDP(b *testing.B) {
	addr, received := drain(b)
	sc, _ := New("large", 1)
	b.ResetTimer()
	res, err := Run(context.Background(), Config{Addr: addr, Scenario: sc, Traces: b.N, Senders: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.SegmentsPerSecond(), "segments/s")
	b.ReportMetric(float64(received.Load())/float64(res.Segments), "received/sent")
}
