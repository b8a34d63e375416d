package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Parts are the backends a composed Store routes each concern to. The same
// value may serve several parts (a Store is every part); it is then written
// once per batch with all of its concerns, and closed once.
type Parts struct {
	Traces TraceStore
	Graph  GraphStore
	Logs   LogStore
	Meta   MetaPart
}

// Compose returns a Store that routes each concern to its part: Write
// splits a Batch by concern (one Write per distinct part, in the order
// Traces, Graph, Logs), reads go to the part that holds the data,
// DropBefore and Close reach every distinct part once.
//
// A composed store is Atomic only when one part serves every concern (and
// is Atomic): otherwise a Write can fail after an earlier part stored its
// share. It is idempotent under retry (Writer): it remembers, per batch ID,
// which parts stored their share, and a retry of that ID writes only the
// others. That memory is the process's: a crash between two parts loses
// the later parts' share of that batch (for the graph part, that batch's
// counts), which only an Atomic single backend avoids.
func Compose(p Parts) (Store, error) {
	if p.Traces == nil || p.Graph == nil || p.Logs == nil || p.Meta == nil {
		return nil, errors.New("store: Compose needs all four parts")
	}
	c := &composed{p: p, done: map[uint64]uint8{}}
	c.writers = distinct(p.Traces, p.Graph, p.Logs)
	if len(c.writers) == 1 && IsAtomic(p.Traces) {
		return atomicComposed{c}, nil
	}
	return c, nil
}

// writer is one distinct part and the concerns it stores.
type writer struct {
	w        Writer
	concerns uint8
}

const (
	concernTraces uint8 = 1 << iota
	concernGraph
	concernLogs
)

func distinct(t, g, l Writer) []writer {
	var out []writer
	add := func(w Writer, c uint8) {
		for i := range out {
			if same(out[i].w, w) {
				out[i].concerns |= c
				return
			}
		}
		out = append(out, writer{w, c})
	}
	add(t, concernTraces)
	add(g, concernGraph)
	add(l, concernLogs)
	return out
}

// same reports whether a and b are the same backend value. Backends are
// pointers; a value of an incomparable type is never the same as another.
func same(a, b any) bool {
	defer func() { _ = recover() }()
	return a == b
}

// maxRemembered bounds the batches whose partial writes a composed store
// remembers: the ingest pipeline retries one batch at a time, so a few are
// plenty; beyond the bound the oldest entries go (a retry of one of those
// may then store a part twice).
const maxRemembered = 64

type composed struct {
	p       Parts
	writers []writer

	mu    sync.Mutex
	done  map[uint64]uint8 // batch ID → writers (bit i: writers[i]) that stored their share
	order []uint64         // IDs in done, oldest first
}

// atomicComposed is a composed store on one Atomic backend.
type atomicComposed struct{ *composed }

func (atomicComposed) AtomicWrites() {}

var (
	_ Store  = (*composed)(nil)
	_ Atomic = atomicComposed{}
)

// Write sends each distinct part its share of b, skipping the parts that
// already stored theirs in an earlier failed Write of the same ID.
func (c *composed) Write(ctx context.Context, b *Batch) error {
	if b.Empty() {
		return nil
	}
	c.mu.Lock()
	done := c.done[b.ID]
	c.mu.Unlock()
	for i, w := range c.writers {
		bit := uint8(1) << i
		if b.ID != 0 && done&bit != 0 {
			continue
		}
		part := &Batch{ID: b.ID}
		if w.concerns&concernTraces != 0 {
			part.Records, part.Summaries = b.Records, b.Summaries
		}
		if w.concerns&concernGraph != 0 {
			part.Graph = b.Graph
		}
		if w.concerns&concernLogs != 0 {
			part.Logs = b.Logs
		}
		if part.Empty() {
			continue
		}
		if err := w.w.Write(ctx, part); err != nil {
			return fmt.Errorf("store part %d of %d: %w", i+1, len(c.writers), err)
		}
		done |= bit
		if b.ID != 0 && i < len(c.writers)-1 {
			c.remember(b.ID, done)
		}
	}
	if b.ID != 0 {
		c.forget(b.ID)
	}
	return nil
}

func (c *composed) remember(id uint64, done uint8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.done[id]; !ok {
		c.order = append(c.order, id)
		if len(c.order) > maxRemembered {
			delete(c.done, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.done[id] = done
}

func (c *composed) forget(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.done[id]; !ok {
		return
	}
	delete(c.done, id)
	for i, x := range c.order {
		if x == id {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}

func (c *composed) Traces(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[*Trace, error] {
	return c.p.Traces.Traces(ctx, ids)
}

func (c *composed) Summaries(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[SummaryRow, error] {
	return c.p.Traces.Summaries(ctx, ids)
}

func (c *composed) ScanSummaries(ctx context.Context, q SummaryScan) iter.Seq2[SummaryRow, error] {
	return c.p.Traces.ScanSummaries(ctx, q)
}

func (c *composed) CountTerm(ctx context.Context, term Term, from, to int64, limit int) (int, error) {
	return c.p.Traces.CountTerm(ctx, term, from, to, limit)
}

func (c *composed) GraphCounters(ctx context.Context, group string, fromMinute, toMinute int64) iter.Seq2[GraphRow, error] {
	return c.p.Graph.GraphCounters(ctx, group, fromMinute, toMinute)
}

func (c *composed) Logs(ctx context.Context, q LogQuery) iter.Seq2[logs.Record, error] {
	return c.p.Logs.Logs(ctx, q)
}

func (c *composed) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	return c.p.Meta.GetMeta(ctx, key)
}

func (c *composed) PutMeta(ctx context.Context, key string, value []byte) error {
	return c.p.Meta.PutMeta(ctx, key, value)
}

func (c *composed) DeleteMeta(ctx context.Context, key string) error {
	return c.p.Meta.DeleteMeta(ctx, key)
}

func (c *composed) ListMeta(ctx context.Context, prefix string) iter.Seq2[MetaEntry, error] {
	return c.p.Meta.ListMeta(ctx, prefix)
}

// DropBefore drops from every distinct part that keeps timed data.
func (c *composed) DropBefore(ctx context.Context, cutoff time.Time) error {
	var errs []error
	for _, w := range c.writers {
		if err := w.w.(Retention).DropBefore(ctx, cutoff); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats is the Traces part's, with the disk bytes of the other distinct
// parts that report them added.
func (c *composed) Stats(ctx context.Context) (Stats, error) {
	st, err := c.p.Traces.Stats(ctx)
	if err != nil {
		return st, err
	}
	for _, w := range c.writers[1:] {
		if s, ok := w.w.(interface {
			Stats(context.Context) (Stats, error)
		}); ok {
			o, err := s.Stats(ctx)
			if err != nil {
				return Stats{}, err
			}
			st.DiskBytes += o.DiskBytes
		}
	}
	return st, nil
}

// TermEstimator, PushDown and IndexPolicy are the Traces part's, when it has them.

// EstimateTerms implements TermEstimator: the Traces part's estimate, or
// the sum of CountTerm.
func (c *composed) EstimateTerms(ctx context.Context, terms []Term, from, to int64, limit int) (int, error) {
	if e, ok := c.p.Traces.(TermEstimator); ok {
		return e.EstimateTerms(ctx, terms, from, to, limit)
	}
	return SumCountTerm(ctx, c.p.Traces, terms, from, to, limit)
}

// PushesDown implements PushDown: what the Traces part pushes down.
func (c *composed) PushesDown(f Field) bool {
	p, ok := c.p.Traces.(PushDown)
	return ok && p.PushesDown(f)
}

// Unindexed implements IndexPolicy: what the Traces part leaves out (its
// writer and its planner must agree, whatever wraps it).
func (c *composed) Unindexed(f Field) bool {
	u, ok := c.p.Traces.(IndexPolicy)
	return ok && u.Unindexed(f)
}

// Close closes every distinct part once.
func (c *composed) Close() error {
	var errs []error
	var closed []any
	for _, p := range []interface{ Close() error }{c.p.Traces, c.p.Graph, c.p.Logs, c.p.Meta} {
		dup := false
		for _, q := range closed {
			if same(p, q) {
				dup = true
			}
		}
		if dup {
			continue
		}
		closed = append(closed, p)
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SumCountTerm is the fallback estimate of a union of terms: the sum of
// CountTerm over them (a trace under several terms counts once per term),
// stopping at limit.
func SumCountTerm(ctx context.Context, r SummaryReader, terms []Term, from, to int64, limit int) (int, error) {
	sum := 0
	for _, t := range terms {
		if sum >= limit {
			return limit, nil
		}
		n, err := r.CountTerm(ctx, t, from, to, limit-sum)
		if err != nil {
			return 0, fmt.Errorf("count index term %#x: %w", uint64(t), err)
		}
		sum += n
	}
	return min(sum, limit), nil
}
