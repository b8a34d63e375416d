package pebblestore

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Traces implements store.Reader. Each lookup is a prefix seek over the
// trace's index keys at its ID's second (and at its redirect's, if it has
// one), then one Get and one decompression per frame it touches.
func (s *Store) Traces(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[*store.Trace, error] {
	return func(yield func(*store.Trace, error) bool) {
		r := reader{s: s}
		defer r.close()
		var seen map[xrayid.TraceID]struct{}
		for i, id := range ids {
			// Few IDs are the rule (BatchGetTraces takes five): scan for
			// duplicates until a map pays off.
			if i < 16 {
				if slices.Contains(ids[:i], id) {
					continue
				}
			} else {
				if seen == nil {
					seen = make(map[xrayid.TraceID]struct{}, len(ids))
					for _, prev := range ids[:i] {
						seen[prev] = struct{}{}
					}
				}
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
			}
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			t, err := r.trace(id)
			if err != nil {
				yield(nil, s.readErr(err))
				return
			}
			if t != nil && !yield(t, nil) {
				return
			}
		}
	}
}

// location is one run of a trace: run number run of frame seq.
type location struct {
	seq uint64
	run int
}

// reader serves one Traces call. It keeps the last few decoded frames:
// traces written together share frames, and callers often ask for them
// together.
type reader struct {
	s      *Store
	frames []cachedFrame
	locs   []location
	key    []byte
}

type cachedFrame struct {
	seq uint64
	f   *frame // nil: the frame is gone (dropped by retention)
	buf *[]byte
}

const readerFrameCache = 4

func (r *reader) close() {
	for _, c := range r.frames {
		if c.buf != nil {
			r.s.codec.release(c.buf)
		}
	}
	r.frames = nil
}

// trace looks one trace up; it returns nil when the trace has no records.
func (r *reader) trace(id xrayid.TraceID) (*store.Trace, error) {
	s := r.s
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()

	r.locs = r.locs[:0]
	if err := r.collect(id, id.Epoch()); err != nil {
		return nil, err
	}
	// The redirect is read even when the ID's own second had records: a
	// trace first seen when its epoch looked implausible keeps its
	// redirect, and a later Write that no longer remembers it may have
	// placed records at the epoch.
	sec, ok, err := s.redirectOf(id)
	if err != nil {
		return nil, err
	}
	if ok && sec != id.Epoch() {
		if err := r.collect(id, sec); err != nil {
			return nil, err
		}
	}
	if len(r.locs) == 0 {
		return nil, nil
	}
	slices.SortFunc(r.locs, func(a, b location) int {
		if c := cmp.Compare(a.seq, b.seq); c != 0 {
			return c
		}
		return cmp.Compare(a.run, b.run)
	})

	t := &store.Trace{ID: id}
	// Documents are copied into one buffer; their slices are cut once it
	// stops growing.
	var docs []byte
	var ends []int
	for _, loc := range r.locs {
		f, err := r.frame(loc.seq)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		if loc.run >= len(f.runs) {
			return nil, fmt.Errorf("trace %s: frame %d: %w: index points at run %d of %d", id, loc.seq, errCorrupt, loc.run, len(f.runs))
		}
		got, err := f.trace(loc.run)
		if err != nil {
			return nil, fmt.Errorf("trace %s: frame %d: %w", id, loc.seq, err)
		}
		if got != id {
			return nil, fmt.Errorf("trace %s: frame %d run %d: %w: index points at trace %s", id, loc.seq, loc.run, errCorrupt, got)
		}
		run := f.runs[loc.run]
		for i := run.start; i < run.start+run.count; i++ {
			segID, err := f.segmentID(i)
			if err != nil {
				return nil, fmt.Errorf("trace %s: frame %d: %w", id, loc.seq, err)
			}
			docs = append(docs, f.recs[i].doc...)
			ends = append(ends, len(docs))
			t.Records = append(t.Records, store.Record{TraceID: id, ID: segID, Received: f.recs[i].received})
		}
	}
	start := 0
	for i, end := range ends {
		t.Records[i].Doc = docs[start:end:end]
		start = end
	}
	if len(t.Records) == 0 {
		return nil, nil // every frame was dropped under us
	}
	// Write order is frame order; the contract orders by Received first.
	slices.SortStableFunc(t.Records, func(a, b store.Record) int { return cmp.Compare(a.Received, b.Received) })
	return t, nil
}

// collect appends the locations listed under trace id's index keys at
// placement second sec.
func (r *reader) collect(id xrayid.TraceID, sec uint32) error {
	prefix := traceKeyPrefix(r.key[:0], sec, id)
	r.key = prefix
	it, err := r.s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upperBound(prefix)})
	if err != nil {
		return fmt.Errorf("trace %s: index: %w", id, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		seq, ok := traceKeySeq(it.Key())
		if !ok {
			_ = it.Close()
			return fmt.Errorf("trace %s: %w: index key %x", id, errCorrupt, it.Key())
		}
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("trace %s: index: %w", id, err)
		}
		if r.locs, err = appendLocations(r.locs, seq, v); err != nil {
			_ = it.Close()
			return fmt.Errorf("trace %s: index key %x: %w", id, it.Key(), err)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("trace %s: index: %w", id, err)
	}
	return nil
}

// frame returns the decoded frame seq, or nil if it no longer exists.
func (r *reader) frame(seq uint64) (*frame, error) {
	for _, c := range r.frames {
		if c.seq == seq {
			return c.f, nil
		}
	}
	r.key = frameKey(r.key[:0], seq)
	v, closer, err := r.s.db.Get(r.key)
	var c cachedFrame
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		// Retention dropped it between our index read and now.
		c = cachedFrame{seq: seq}
	case err != nil:
		return nil, fmt.Errorf("frame %d: %w", seq, err)
	default:
		f, buf, err := r.s.codec.decodeFrame(v)
		_ = closer.Close()
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", seq, err)
		}
		c = cachedFrame{seq: seq, f: f, buf: buf}
	}
	if len(r.frames) == readerFrameCache {
		if old := r.frames[0]; old.buf != nil {
			r.s.codec.release(old.buf)
		}
		r.frames = append(r.frames[:0], r.frames[1:]...)
	}
	r.frames = append(r.frames, c)
	return c.f, nil
}

// appendLocations parses an index value: uvarint pairs (frame offset from
// seq, run).
func appendLocations(locs []location, seq uint64, v []byte) ([]location, error) {
	for len(v) > 0 {
		off, n1 := binary.Uvarint(v)
		if n1 <= 0 {
			return locs, fmt.Errorf("%w: bad index value", errCorrupt)
		}
		run, n2 := binary.Uvarint(v[n1:])
		if n2 <= 0 || off > 1<<32 || run > 1<<32 {
			return locs, fmt.Errorf("%w: bad index value", errCorrupt)
		}
		v = v[n1+n2:]
		locs = append(locs, location{seq: seq + off, run: int(run)})
	}
	return locs, nil
}
