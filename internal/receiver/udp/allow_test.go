package udp

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/segment"
)

type collectSink struct {
	mu   sync.Mutex
	segs []segment.Segment
}

func (c *collectSink) Submit(segs []segment.Segment) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.segs = append(c.segs, segs...)
	return true
}

func (c *collectSink) names() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]bool{}
	for _, s := range c.segs {
		m[s.Entities[0].Name] = true
	}
	return m
}

// Datagrams from sources outside Allow are dropped and counted; the
// others are decoded. Both senders are on loopback: 127.0.0.2 is allowed,
// 127.0.0.1 is not.
func TestAllowSources(t *testing.T) {
	sink := &collectSink{}
	ms := metrics.NewSet()
	r, err := Listen("127.0.0.1:0", sink, Options{Readers: 1, Decoders: 1,
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, ms, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	send := func(from, name string) {
		t.Helper()
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, r.Addr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		now := float64(time.Now().UnixNano()) / 1e9
		doc := fmt.Sprintf(`{"format":"json","version":1}`+"\n"+
			`{"name":%q,"id":"%016x","trace_id":"1-%08x-%024x","start_time":%f,"end_time":%f}`,
			name, time.Now().UnixNano(), int64(now), time.Now().UnixNano(), now, now+0.1)
		if _, err := c.Write([]byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		send("127.0.0.1", fmt.Sprintf("refused-%d", i))
		send("127.0.0.2", fmt.Sprintf("allowed-%d", i))
	}
	// Loopback does not lose datagrams; wait until all six were read.
	for deadline := time.Now().Add(10 * time.Second); ms.GetOrCreateCounter(`counterspy_udp_datagrams_received_total`).Get() < 6; {
		if time.Now().After(deadline) {
			t.Fatal("the six datagrams were not read within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.names()
	for i := range 3 {
		if !got[fmt.Sprintf("allowed-%d", i)] {
			t.Errorf("segment allowed-%d from 127.0.0.2 was not received; got %v", i, got)
		}
		if got[fmt.Sprintf("refused-%d", i)] {
			t.Errorf("segment refused-%d from 127.0.0.1 was received although 127.0.0.1 is not allowed", i)
		}
	}
	if n := ms.GetOrCreateCounter(`counterspy_segments_rejected_total{protocol="udp",reason="SourceNotAllowed"}`).Get(); n != 3 {
		t.Errorf("SourceNotAllowed count = %d, want 3", n)
	}
}
