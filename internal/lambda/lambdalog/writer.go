package lambdalog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
)

// Writer batches records for a Sink off the invocation path: Add never
// blocks; a background goroutine flushes every FlushInterval or MaxBatch
// records. When the sink is slower than the functions write, records
// beyond MaxPending are dropped and counted, so a stuck server never stalls
// a function.
type Writer struct {
	sink Sink
	opts WriterOptions
	log  *slog.Logger

	mu      sync.Mutex
	pending []logs.Record
	busy    bool // a batch is being written
	// flushed is closed and replaced after every flush (for Flush).
	flushed chan struct{}
	kick    chan struct{}
	dropped atomic.Int64
	// lastWarn rate-limits the warning about a failing sink.
	lastWarn time.Time

	stop chan struct{}
	done chan struct{}
}

// WriterOptions tunes a Writer; zero values take the defaults.
type WriterOptions struct {
	FlushInterval time.Duration // default 200ms
	MaxBatch      int           // default 500
	MaxPending    int           // default 100000
	Logger        *slog.Logger
}

// NewWriter starts a writer for sink. Close it to flush and stop.
func NewWriter(sink Sink, opts WriterOptions) *Writer {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 500
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Writer{sink: sink, opts: opts, log: opts.Logger, flushed: make(chan struct{}),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// Add queues records. It never blocks.
func (w *Writer) Add(recs ...logs.Record) {
	w.mu.Lock()
	room := w.opts.MaxPending - len(w.pending)
	if room < len(recs) {
		w.dropped.Add(int64(len(recs) - max(room, 0)))
		recs = recs[:max(room, 0)]
	}
	w.pending = append(w.pending, recs...)
	full := len(w.pending) >= w.opts.MaxBatch
	w.mu.Unlock()
	if full {
		w.poke()
	}
}

// Dropped counts records dropped because the sink fell behind.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// Flush waits until everything added before the call was handed to the
// sink (or dropped), or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	for {
		w.mu.Lock()
		idle := len(w.pending) == 0 && !w.busy
		ch := w.flushed
		w.mu.Unlock()
		if idle {
			return nil
		}
		w.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (w *Writer) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Close flushes what is queued (bounded by ctx) and stops the writer.
func (w *Writer) Close(ctx context.Context) error {
	close(w.stop)
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	t := time.NewTicker(w.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.kick:
		case <-w.stop:
			w.flush()
			return
		}
		w.flush()
	}
}

func (w *Writer) flush() {
	for {
		w.mu.Lock()
		n := min(len(w.pending), w.opts.MaxBatch)
		batch := make([]logs.Record, n)
		copy(batch, w.pending)
		w.pending = w.pending[n:]
		if len(w.pending) == 0 {
			w.pending = nil
		}
		w.busy = n > 0
		w.mu.Unlock()
		if n > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := w.sink.Write(ctx, batch)
			cancel()
			if err != nil {
				w.dropped.Add(int64(n))
				if time.Since(w.lastWarn) > time.Minute {
					w.lastWarn = time.Now()
					w.log.Warn("lambda logs: sink write failed, records dropped (repeats are not logged for a minute)",
						"records", n, "dropped_total", w.dropped.Load(), "err", err)
				}
			}
		}
		w.mu.Lock()
		w.busy = false
		more := len(w.pending) > 0
		if !more {
			close(w.flushed)
			w.flushed = make(chan struct{})
		}
		w.mu.Unlock()
		if !more {
			return
		}
	}
}
