// Package ingest turns decoded segments into durable store writes.
//
// Receivers hand segments to a Pipeline. One writer goroutine takes everything
// queued since its last write and commits it to the store as one batch (group
// commit): a single fsync covers every segment in it. Callers that need an
// acknowledgement (PutTraceSegments) wait for the commit that holds their
// segments; fire-and-forget callers (UDP) are made durable within FlushInterval.
//
// The queue is bounded in bytes, so a flood costs drops (counted), never
// unbounded memory.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
)

// Options tunes a Pipeline. Zero values take the defaults.
type Options struct {
	// FlushInterval bounds how long an unacknowledged (UDP) segment waits
	// before it is written durably. Default 200ms.
	FlushInterval time.Duration
	// MaxBatchBytes starts a write early once this many document bytes are
	// queued. Default 8 MiB.
	MaxBatchBytes int
	// QueueBytes bounds the document bytes waiting for the writer; fire-and-
	// forget segments beyond it are dropped, acknowledged ones wait. Default
	// 32 MiB: four full groups, so the writer never waits for work, while
	// the queue (documents plus their decoded digests, about twice the
	// bytes) stays small under a flood.
	QueueBytes int
	// Now returns the arrival time stamped on records (tests may fix it).
	Now func() time.Time
	// Observer, if set, sees every batch before it is written and may add
	// derived records (summaries, indexes) to it.
	Observer Observer
}

// Observer derives data from segments as they are committed. It runs on the
// writer goroutine, so it sees batches one at a time, in commit order.
type Observer interface {
	Observe(segs []segment.Segment, b *store.Batch) error
	// Discard says that the batch last observed was not written, so that
	// state derived from it is not taken for stored.
	Discard()
}

func (o *Options) setDefaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 8 << 20
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 32 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ErrClosed is returned by Submit and SubmitWait after Close.
var ErrClosed = errors.New("ingest: pipeline closed")

// Pipeline is the group-commit writer. Its methods are safe for concurrent use.
type Pipeline struct {
	st   store.Writer
	opts Options
	log  *slog.Logger

	mu           sync.Mutex
	pending      []item
	pendingBytes int
	waiters      int // pending items with a done channel
	closed       bool
	wake         chan struct{} // capacity 1: "there is work"
	space        *sync.Cond    // signalled when the writer frees queue bytes

	done chan struct{} // closed when the writer goroutine exits

	lastNoSpaceLog time.Time // writer goroutine only
	// atomic: the store declares store.Atomic (a failed Write stored all
	// or nothing); else a failed batch is written again, same ID.
	atomic bool
	nextID uint64 // writer goroutine only: the next Batch.ID

	stored, dropped, storeErrors *metrics.Counter
	diskFull                     *metrics.Counter
	batches                      *metrics.Counter
	batchSize                    *metrics.PrometheusHistogram
	writeSeconds                 *metrics.PrometheusHistogram
	retries                      *metrics.Counter
}

type item struct {
	segs     []segment.Segment
	received int64
	bytes    int
	done     chan error // nil for fire-and-forget
}

// New starts a pipeline writing to st. Metrics are registered in ms.
func New(st store.Writer, opts Options, ms *metrics.Set, log *slog.Logger) *Pipeline {
	opts.setDefaults()
	p := &Pipeline{
		st:           st,
		opts:         opts,
		log:          log,
		wake:         make(chan struct{}, 1),
		done:         make(chan struct{}),
		stored:       ms.GetOrCreateCounter(`counterspy_segments_stored_total`),
		dropped:      ms.GetOrCreateCounter(`counterspy_segments_dropped_total{reason="queue_full"}`),
		storeErrors:  ms.GetOrCreateCounter(`counterspy_segments_dropped_total{reason="store_error"}`),
		diskFull:     ms.GetOrCreateCounter(`counterspy_segments_dropped_total{reason="disk_full"}`),
		batches:      ms.GetOrCreateCounter(`counterspy_store_batches_total`),
		batchSize:    ms.GetOrCreatePrometheusHistogram(`counterspy_store_batch_segments`),
		writeSeconds: ms.GetOrCreatePrometheusHistogram(`counterspy_store_write_duration_seconds`),
		atomic:       store.IsAtomic(st),
		// A random start, so that IDs do not repeat across restarts.
		nextID:  rand.Uint64(),
		retries: ms.GetOrCreateCounter(`counterspy_store_write_retries_total`),
	}
	p.space = sync.NewCond(&p.mu)
	ms.GetOrCreateGauge(`counterspy_ingest_queue_bytes`, func() float64 {
		p.mu.Lock()
		defer p.mu.Unlock()
		return float64(p.pendingBytes)
	})
	go p.run()
	return p
}

// Submit queues segments for a durable write within FlushInterval and returns
// at once. It returns false, and counts the segments as dropped, when the
// queue is full or the pipeline is closed.
func (p *Pipeline) Submit(segs []segment.Segment) bool {
	if len(segs) == 0 {
		return true
	}
	it := item{segs: segs, received: p.opts.Now().UnixNano(), bytes: docBytes(segs)}
	p.mu.Lock()
	if p.fullLocked(it.bytes) {
		p.mu.Unlock()
		p.dropped.Add(len(segs))
		return false
	}
	p.enqueueLocked(it)
	p.mu.Unlock()
	return true
}

// Shed reports whether a Submit of documents of this many bytes would be
// dropped now for want of room, and if so counts segments as dropped. A
// receiver asks before decoding, so that a flood costs no decoding of what
// the queue cannot take.
func (p *Pipeline) Shed(bytes, segments int) bool {
	p.mu.Lock()
	full := p.fullLocked(bytes)
	p.mu.Unlock()
	if full {
		p.dropped.Add(segments)
	}
	return full
}

// fullLocked reports whether fire-and-forget documents of this many bytes
// must be dropped. p.mu is held.
func (p *Pipeline) fullLocked(bytes int) bool {
	return p.closed || p.pendingBytes+bytes > p.opts.QueueBytes
}

// SubmitWait queues segments and returns once they are durable, or with the
// error that prevented it. If ctx ends first the segments may still be written.
func (p *Pipeline) SubmitWait(ctx context.Context, segs []segment.Segment) error {
	if len(segs) == 0 {
		return nil
	}
	it := item{segs: segs, received: p.opts.Now().UnixNano(), bytes: docBytes(segs), done: make(chan error, 1)}
	p.mu.Lock()
	// An acknowledged write waits for room instead of being dropped: the
	// caller is told to slow down by the latency, not by data loss.
	for !p.closed && p.pendingBytes > 0 && p.pendingBytes+it.bytes > p.opts.QueueBytes {
		p.space.Wait()
	}
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.enqueueLocked(it)
	p.mu.Unlock()
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pipeline) enqueueLocked(it item) {
	p.pending = append(p.pending, it)
	p.pendingBytes += it.bytes
	if it.done != nil {
		p.waiters++
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Close writes everything queued and stops the writer. Segments submitted
// after Close are rejected.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.space.Broadcast()
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: close: %w", ctx.Err())
	}
}

func (p *Pipeline) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		<-p.wake
		// Fire-and-forget work may wait for company (bigger batches compress
		// and commit better); acknowledged work is written at once, and
		// whatever arrives during that write forms the next group.
		p.mu.Lock()
		urgent := p.closed || p.waiters > 0 || p.pendingBytes >= p.opts.MaxBatchBytes
		p.mu.Unlock()
		if !urgent {
			timer.Reset(p.opts.FlushInterval)
		wait:
			for {
				select {
				case <-timer.C:
					break wait
				case <-p.wake:
					p.mu.Lock()
					urgent = p.closed || p.waiters > 0 || p.pendingBytes >= p.opts.MaxBatchBytes
					p.mu.Unlock()
					if urgent {
						timer.Stop()
						break wait
					}
				}
			}
		}
		items, closed, more := p.take()
		if len(items) > 0 {
			p.write(items)
		}
		if more {
			// What stayed queued is the next group: no need to wait for it.
			select {
			case p.wake <- struct{}{}:
			default:
			}
			continue
		}
		if closed {
			return
		}
	}
}

// take removes the next group from the queue: everything queued, up to
// MaxBatchBytes (at least one item). A group that took everything a flood
// queued would make one huge store batch, slow to commit and costly in
// memory; the rest waits for the next commit instead.
func (p *Pipeline) take() (items []item, closed, more bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, bytes := 0, 0
	for n < len(p.pending) && (n == 0 || bytes+p.pending[n].bytes <= p.opts.MaxBatchBytes) {
		bytes += p.pending[n].bytes
		n++
	}
	items = p.pending[:n:n]
	p.pending = append([]item(nil), p.pending[n:]...)
	p.pendingBytes -= bytes
	for _, it := range items {
		if it.done != nil {
			p.waiters--
		}
	}
	p.space.Broadcast()
	return items, p.closed, len(p.pending) > 0
}

// write commits one group and reports the outcome to its waiters.
func (p *Pipeline) write(items []item) {
	n := 0
	for _, it := range items {
		n += len(it.segs)
	}
	segs := make([]segment.Segment, 0, n)
	b := &store.Batch{Records: make([]store.Record, 0, n)}
	for _, it := range items {
		for i := range it.segs {
			s := &it.segs[i]
			segs = append(segs, *s)
			b.Records = append(b.Records, store.Record{TraceID: s.TraceID, ID: s.ID(), Received: it.received, Doc: s.Raw})
		}
	}
	start := time.Now()
	var err error
	if p.opts.Observer != nil {
		if oerr := p.opts.Observer.Observe(segs, b); oerr != nil {
			// Derived data is rebuilt from the documents; losing it must not
			// cost the documents themselves.
			p.log.Error("deriving trace data failed; documents are stored without it", "err", oerr, "segments", n)
		}
	}
	p.nextID++
	if p.nextID == 0 {
		p.nextID++ // 0 means "never retried"
	}
	b.ID = p.nextID
	err = p.st.Write(context.Background(), b)
	if err != nil && !p.atomic {
		err = p.retry(b, err)
	}
	p.writeSeconds.UpdateDuration(start)
	p.batches.Inc()
	p.batchSize.Update(float64(n))
	if err != nil {
		err = fmt.Errorf("store %d segments: %w", n, err)
		// A full disk fails every write until space returns: say so
		// once a minute, not once a batch (the drops are counted).
		if !errors.Is(err, store.ErrNoSpace) || time.Since(p.lastNoSpaceLog) > time.Minute {
			p.log.Error("store write failed", "err", err)
			if errors.Is(err, store.ErrNoSpace) {
				p.lastNoSpaceLog = time.Now()
			}
		}
		if p.opts.Observer != nil {
			p.opts.Observer.Discard()
		}
	}
	for _, it := range items {
		switch {
		case err == nil:
			p.stored.Add(len(it.segs))
		case it.done == nil && errors.Is(err, store.ErrNoSpace):
			p.diskFull.Add(len(it.segs))
		case it.done == nil:
			p.storeErrors.Add(len(it.segs))
		}
		if it.done != nil {
			it.done <- err
		}
	}
}

// Retry back-off on a store that is not Atomic.
const (
	retryFirst = 50 * time.Millisecond
	retryMax   = 5 * time.Second
	// retryFor bounds the retries of one batch: an error that lasts longer
	// (a backend down for long, a batch it refuses for good) must not stop
	// ingestion for good.
	retryFor = 2 * time.Minute
	// retriesAfterClose bounds the attempts once Close is called.
	retriesAfterClose = 3
)

// retry writes b again (same ID) after a failed Write on a store that is
// not Atomic, which may have stored part of it: the store then stores each
// part once (store.Writer), and the summarizer's state, which counted the
// batch as written, stays true. It returns nil once the batch is stored;
// the pipeline writes nothing else meanwhile (later documents queue, as
// behind a slow write). It gives up after retryFor, or a few attempts once
// Close is called: the batch may then be stored in part (its traces' graph
// counts may be off), and the caller tells the summarizer to forget those
// traces.
func (p *Pipeline) retry(b *store.Batch, err error) error {
	wait := retryFirst
	deadline := time.Now().Add(retryFor)
	for attempt, afterClose := 1, 0; ; attempt++ {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			afterClose++
		}
		if afterClose > retriesAfterClose || time.Now().After(deadline) {
			p.log.Error("store write failed, retries given up: the batch may be stored in part", "err", err, "attempts", attempt, "closing", closed)
			return err
		}
		if attempt == 1 || attempt%10 == 0 {
			p.log.Warn("store write failed; writing the batch again", "err", err, "attempt", attempt)
		}
		if closed {
			wait = retryFirst // Close is waiting
		}
		time.Sleep(wait)
		wait = min(2*wait, retryMax)
		p.retries.Inc()
		if err = p.st.Write(context.Background(), b); err == nil {
			return nil
		}
	}
}

func docBytes(segs []segment.Segment) int {
	n := 0
	for i := range segs {
		n += len(segs[i].Raw)
	}
	return n
}
