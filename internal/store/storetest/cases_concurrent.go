package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// testConcurrentWriters writes from several goroutines at once, each to its
// own traces and all to one shared trace. Received values are unique, so the
// expected order does not depend on scheduling.
func testConcurrentWriters(t *testing.T, h *harness) {
	s := h.open(t)
	m := newModel()
	var mu sync.Mutex
	base := now()
	shared := traceID(sec(base), 1)
	const writers, batches, perBatch = 8, 20, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range batches {
				b := &store.Batch{}
				for j := range perBatch {
					n := (g*batches+i)*perBatch + j
					r := base.UnixNano() + int64(n)
					own := traceID(sec(base)-uint32(g), uint64(100+g*batches+i))
					b.Records = append(b.Records, record(own, xrayid.SegmentID(n+1), r, ""))
					if j == 0 {
						b.Records = append(b.Records, record(shared, xrayid.SegmentID(n+1), r, ""))
					}
				}
				if err := s.Write(context.Background(), b); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				m.add(b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Write: %v", err)
	}
	m.check(t, s)
}

// testConcurrentReadWrite reads while writing: every write acknowledged
// before a read starts must be visible to it, completely.
func testConcurrentReadWrite(t *testing.T, h *harness) {
	s := h.open(t)
	base := now()
	shared := traceID(sec(base), 1)
	const batches = 60
	ids := make([]xrayid.TraceID, batches)
	want := make([]*store.Batch, batches)
	for k := range ids {
		ids[k] = traceID(sec(base), uint64(10+k))
		b := &store.Batch{}
		for j := range 20 {
			b.Records = append(b.Records, record(ids[k], xrayid.SegmentID(k*100+j+1), base.UnixNano()+int64(k*100+j), ""))
		}
		b.Records = append(b.Records, record(shared, xrayid.SegmentID(k+1), base.UnixNano()+int64(k), ""))
		want[k] = b
	}
	var acked atomic.Int64
	done := make(chan struct{})
	writeErr := make(chan error, 1)
	go func() {
		defer close(done)
		for k := range batches {
			if err := s.Write(context.Background(), want[k]); err != nil {
				writeErr <- err
				return
			}
			acked.Store(int64(k + 1))
		}
	}()
	check := func() bool {
		n := int(acked.Load())
		select {
		case <-done:
			return false
		default:
		}
		req := append([]xrayid.TraceID{shared}, ids[:n]...)
		var got []*store.Trace
		for tr, err := range s.Traces(context.Background(), req) {
			if err != nil {
				t.Errorf("Traces during writes: %v", err)
				return false
			}
			got = append(got, tr)
		}
		if n > 0 && (len(got) != n+1 || got[0].ID != shared || len(got[0].Records) < n) {
			t.Errorf("after %d acknowledged writes: %d traces back, want %d with the shared one first", n, len(got), n+1)
			return false
		}
		for k := range n {
			if len(got[k+1].Records) != 20 {
				t.Errorf("trace %d: %d records, want the 20 written in one batch", k, len(got[k+1].Records))
				return false
			}
		}
		return true
	}
	for check() {
	}
	<-done
	select {
	case err := <-writeErr:
		t.Fatalf("Write: %v", err)
	default:
	}
	m := newModel()
	for _, b := range want {
		m.add(b)
	}
	m.check(t, s)
}
