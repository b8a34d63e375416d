package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// recorder is a store.Writer whose behaviour the tests control: it can hold
// writes (to let a group form) and fail them.
type recorder struct {
	mu      sync.Mutex
	batches []store.Batch
	fail    error
	hold    chan struct{} // when non-nil, Write waits for it to close
	entered chan struct{} // receives one value per Write call
}

// AtomicWrites: a failed Write of the recorder stores nothing.
func (r *recorder) AtomicWrites() {}

func (r *recorder) Write(ctx context.Context, b *store.Batch) error {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	cp := store.Batch{ID: b.ID, Records: append([]store.Record(nil), b.Records...)}
	r.batches = append(r.batches, cp)
	return nil
}

func (r *recorder) records() []store.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Record
	for _, b := range r.batches {
		out = append(out, b.Records...)
	}
	return out
}

var gen = xrayid.NewGenerator(1)

func seg(size int) segment.Segment {
	return segment.Segment{
		TraceID:  gen.TraceID(time.Unix(1700000000, 0)),
		Raw:      []byte(strings.Repeat("x", size)),
		Entities: []segment.Entity{{ID: gen.SegmentID(), Parent: -1}},
	}
}

func newTest(t *testing.T, w store.Writer, opts Options) (*Pipeline, *metrics.Set) {
	t.Helper()
	ms := metrics.NewSet()
	p := New(w, opts, ms, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, ms
}

func counter(ms *metrics.Set, name string) uint64 { return ms.GetOrCreateCounter(name).Get() }

func TestSubmitWaitIsDurableWhenItReturns(t *testing.T) {
	rec := &recorder{}
	now := time.Unix(1700000000, 5)
	p, ms := newTest(t, rec, Options{FlushInterval: time.Hour, Now: func() time.Time { return now }})
	s := seg(10)
	if err := p.SubmitWait(context.Background(), []segment.Segment{s}); err != nil {
		t.Fatal(err)
	}
	got := rec.records()
	if len(got) != 1 || got[0].TraceID != s.TraceID || got[0].ID != s.ID() || string(got[0].Doc) != string(s.Raw) || got[0].Received != now.UnixNano() {
		t.Fatalf("stored %+v", got)
	}
	if n := counter(ms, `counterspy_segments_stored_total`); n != 1 {
		t.Fatalf("stored counter %d", n)
	}
}

func TestConcurrentWaitersShareCommits(t *testing.T) {
	rec := &recorder{hold: make(chan struct{}), entered: make(chan struct{}, 100)}
	p, _ := newTest(t, rec, Options{FlushInterval: time.Hour})
	var wg sync.WaitGroup
	errs := make(chan error, 51)
	submit := func() {
		s := seg(5) // the generator is not safe for concurrent use
		wg.Add(1)
		go func() { defer wg.Done(); errs <- p.SubmitWait(context.Background(), []segment.Segment{s}) }()
	}
	submit()
	<-rec.entered // the first commit is in progress; the next 50 must form one group
	for range 50 {
		submit()
	}
	waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.pending) == 50 })
	rec.mu.Lock()
	close(rec.hold)
	rec.hold = nil
	rec.mu.Unlock()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(rec.batches); n != 2 {
		t.Fatalf("51 waiters took %d commits, want 2 (one in flight, one group)", n)
	}
}

func TestSubmitIsWrittenWithoutWaiters(t *testing.T) {
	rec := &recorder{}
	p, _ := newTest(t, rec, Options{FlushInterval: 10 * time.Millisecond})
	for range 10 {
		if !p.Submit([]segment.Segment{seg(3)}) {
			t.Fatal("dropped")
		}
	}
	waitFor(t, func() bool { return len(rec.records()) == 10 })
}

func TestFloodIsDroppedAndCounted(t *testing.T) {
	rec := &recorder{hold: make(chan struct{}), entered: make(chan struct{}, 10)}
	p, ms := newTest(t, rec, Options{FlushInterval: time.Millisecond, QueueBytes: 1000})
	if !p.Submit([]segment.Segment{seg(100)}) {
		t.Fatal("first submit dropped")
	}
	<-rec.entered // writer holds the first batch; the queue now fills
	accepted, dropped := 0, 0
	for range 30 {
		if p.Submit([]segment.Segment{seg(100)}) {
			accepted++
		} else {
			dropped++
		}
	}
	if accepted != 10 || dropped != 20 {
		t.Fatalf("accepted %d dropped %d, want 10 and 20 with a 1000-byte queue", accepted, dropped)
	}
	if n := counter(ms, `counterspy_segments_dropped_total{reason="queue_full"}`); n != 20 {
		t.Fatalf("dropped counter %d", n)
	}
	// A full queue sheds before decoding, and counts what it shed.
	if !p.Shed(100, 3) {
		t.Fatal("Shed = false with a full queue")
	}
	if n := counter(ms, `counterspy_segments_dropped_total{reason="queue_full"}`); n != 23 {
		t.Fatalf("dropped counter %d after shedding 3", n)
	}
	rec.mu.Lock()
	close(rec.hold)
	rec.hold = nil
	rec.mu.Unlock()
	waitFor(t, func() bool { return len(rec.records()) == 11 })
	if p.Shed(100, 1) {
		t.Fatal("Shed = true with an empty queue")
	}
	if n := counter(ms, `counterspy_segments_dropped_total{reason="queue_full"}`); n != 23 {
		t.Fatalf("dropped counter %d after a refused Shed", n)
	}
}

func TestStoreErrorReachesWaitersAndIsCounted(t *testing.T) {
	rec := &recorder{fail: errors.New("disk full")}
	p, ms := newTest(t, rec, Options{FlushInterval: time.Millisecond})
	err := p.SubmitWait(context.Background(), []segment.Segment{seg(1), seg(1)})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	p.Submit([]segment.Segment{seg(1)})
	waitFor(t, func() bool { return counter(ms, `counterspy_segments_dropped_total{reason="store_error"}`) == 1 })
	if n := counter(ms, `counterspy_segments_stored_total`); n != 0 {
		t.Fatalf("stored counter %d after failures", n)
	}
}

func TestCloseFlushesAndRejectsLaterWork(t *testing.T) {
	rec := &recorder{}
	ms := metrics.NewSet()
	p := New(rec, Options{FlushInterval: time.Hour}, ms, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 5 {
		p.Submit([]segment.Segment{seg(2)})
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.records()); n != 5 {
		t.Fatalf("close wrote %d of 5 queued segments", n)
	}
	if p.Submit([]segment.Segment{seg(1)}) {
		t.Fatal("Submit after Close accepted")
	}
	if err := p.SubmitWait(context.Background(), []segment.Segment{seg(1)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SubmitWait after Close: %v", err)
	}
}

type observer struct{ seen, discarded int }

func (o *observer) Discard() { o.discarded++ }

func (o *observer) Observe(segs []segment.Segment, b *store.Batch) error {
	o.seen += len(segs)
	if len(segs) != len(b.Records) {
		return fmt.Errorf("%d segments, %d records", len(segs), len(b.Records))
	}
	return nil
}

func TestObserverSeesEveryCommittedSegment(t *testing.T) {
	rec := &recorder{}
	o := &observer{}
	p, _ := newTest(t, rec, Options{FlushInterval: time.Millisecond, Observer: o})
	for range 3 {
		if err := p.SubmitWait(context.Background(), []segment.Segment{seg(1), seg(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if o.seen != 6 {
		t.Fatalf("observer saw %d segments, want 6", o.seen)
	}
	if o.discarded != 0 {
		t.Fatalf("observer told of %d discarded batches, none failed", o.discarded)
	}
	rec.mu.Lock()
	rec.fail = errors.New("disk full")
	rec.mu.Unlock()
	if err := p.SubmitWait(context.Background(), []segment.Segment{seg(1)}); err == nil {
		t.Fatal("SubmitWait succeeded while the store fails")
	}
	if o.discarded != 1 {
		t.Fatalf("observer told of %d discarded batches after a failed write, want 1", o.discarded)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupsAreCappedAtMaxBatchBytes(t *testing.T) {
	rec := &recorder{hold: make(chan struct{}), entered: make(chan struct{}, 100)}
	p, _ := newTest(t, rec, Options{FlushInterval: time.Millisecond, MaxBatchBytes: 1000})
	p.Submit([]segment.Segment{seg(10)})
	<-rec.entered // the writer holds the first group while a flood queues
	for range 50 {
		if !p.Submit([]segment.Segment{seg(100)}) {
			t.Fatal("dropped")
		}
	}
	rec.mu.Lock()
	close(rec.hold)
	rec.hold = nil
	rec.mu.Unlock()
	waitFor(t, func() bool { return len(rec.records()) == 51 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, b := range rec.batches {
		n := 0
		for _, r := range b.Records {
			n += len(r.Doc)
		}
		if n > 1000 {
			t.Fatalf("batch %d holds %d bytes, over MaxBatchBytes", i, n)
		}
	}
	if len(rec.batches) < 6 {
		t.Fatalf("%d batches for 5,010 bytes with a 1,000-byte cap", len(rec.batches))
	}
}

// TestDiskFullDropsAreCounted: while the store refuses writes for want of
// space, fire-and-forget (UDP) segments are dropped and counted as
// disk_full, and acknowledged calls get the error.
func TestDiskFullDropsAreCounted(t *testing.T) {
	rec := &recorder{fail: fmt.Errorf("store: disk full: %w", store.ErrNoSpace)}
	p, ms := newTest(t, rec, Options{FlushInterval: time.Millisecond})
	for range 5 {
		if !p.Submit([]segment.Segment{seg(10)}) {
			t.Fatal("Submit refused")
		}
	}
	err := p.SubmitWait(context.Background(), []segment.Segment{seg(10)})
	if !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("SubmitWait: %v, want ErrNoSpace", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := counter(ms, `counterspy_segments_dropped_total{reason="disk_full"}`); got != 5 {
		t.Errorf("disk_full drops %d, want 5", got)
	}
	if got := counter(ms, `counterspy_segments_dropped_total{reason="store_error"}`); got != 0 {
		t.Errorf("store_error drops %d, want 0", got)
	}
	if got := counter(ms, `counterspy_segments_stored_total`); got != 0 {
		t.Errorf("stored %d, want 0", got)
	}
}

// partial is a store.Writer that is not Atomic: its first failures
// Writes fail (as if after storing part of the batch). It records the
// batch ID of every call.
type partial struct {
	mu       sync.Mutex
	failures int
	ids      []uint64
}

func (w *partial) Write(ctx context.Context, b *store.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids = append(w.ids, b.ID)
	if w.failures > 0 {
		w.failures--
		return errors.New("graph table insert failed")
	}
	return nil
}

// TestRetryOnStoreNotAtomic: on a store that is not Atomic the pipeline
// writes a failed batch again with the same ID until it is stored, and
// answers the waiters then; the summarizer is not told to forget it.
func TestRetryOnStoreNotAtomic(t *testing.T) {
	w := &partial{failures: 3}
	o := &observer{}
	p, ms := newTest(t, w, Options{FlushInterval: time.Millisecond, Observer: o})
	if err := p.SubmitWait(context.Background(), []segment.Segment{seg(1), seg(1)}); err != nil {
		t.Fatalf("SubmitWait: %v, want the batch stored by a retry", err)
	}
	if err := p.SubmitWait(context.Background(), []segment.Segment{seg(1)}); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	ids := slices.Clone(w.ids)
	w.mu.Unlock()
	if len(ids) != 5 || ids[0] == 0 || ids[0] != ids[1] || ids[0] != ids[3] || ids[4] == ids[0] {
		t.Fatalf("batch IDs of the Write calls: %v, want four of one nonzero ID, then another", ids)
	}
	if o.discarded != 0 {
		t.Fatalf("observer told of %d discarded batches, want none: the retry stored it", o.discarded)
	}
	if n := counter(ms, `counterspy_store_write_retries_total`); n != 3 {
		t.Fatalf("retries counted: %d, want 3", n)
	}
	if n := counter(ms, `counterspy_segments_stored_total`); n != 3 {
		t.Fatalf("stored counter %d, want 3", n)
	}
}

// TestRetryGivesUpOnClose: a batch that keeps failing on a store that is
// not Atomic does not keep Close waiting: after a few attempts the waiter
// gets the error and the summarizer forgets the batch.
func TestRetryGivesUpOnClose(t *testing.T) {
	w := &partial{failures: 1 << 30}
	o := &observer{}
	ms := metrics.NewSet()
	p := New(w, Options{FlushInterval: time.Millisecond, Observer: o}, ms, slog.New(slog.NewTextHandler(io.Discard, nil)))
	errc := make(chan error, 1)
	go func() { errc <- p.SubmitWait(context.Background(), []segment.Segment{seg(1)}) }()
	waitFor(t, func() bool { return counter(ms, `counterspy_store_write_retries_total`) >= 2 })
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "graph table") {
		t.Fatalf("SubmitWait: %v, want the store's error", err)
	}
	if o.discarded != 1 {
		t.Fatalf("observer told of %d discarded batches, want 1", o.discarded)
	}
}
