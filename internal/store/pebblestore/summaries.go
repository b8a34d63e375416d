package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Summaries implements store.SummaryReader. Each lookup is one Get at the
// ID's epoch second and, if that misses, a redirect lookup and one more Get.
// A row's Summary is valid until the iteration continues.
func (s *Store) Summaries(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		var buf []byte
		var seen map[xrayid.TraceID]bool // for long requests; short ones search ids
		if len(ids) > 16 {
			seen = make(map[xrayid.TraceID]bool, len(ids))
		}
		for i, id := range ids {
			if err := ctx.Err(); err != nil {
				yield(store.SummaryRow{}, err)
				return
			}
			if seen != nil {
				if seen[id] {
					continue // a duplicated ID is yielded once
				}
				seen[id] = true
			} else if slices.Contains(ids[:i], id) {
				continue
			}
			sec, v, found, err := s.summaryByID(id, buf[:0])
			if err != nil {
				yield(store.SummaryRow{}, s.readErr(err))
				return
			}
			buf = v
			if !found {
				continue
			}
			row := store.SummaryRow{Pos: store.Position{Sec: int64(sec), TraceID: id}, TraceID: id, Summary: v[:len(v):len(v)]}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// summaryByID appends the summary of id to dst. The epoch placement is tried
// first: if a trace has summaries at both placements (see superseded), the
// one at the epoch is the newer.
func (s *Store) summaryByID(id xrayid.TraceID, dst []byte) (sec uint32, v []byte, found bool, err error) {
	if err := s.begin(); err != nil {
		return 0, dst, false, err
	}
	defer s.end()
	if s.sums.mayHold(id.Epoch()) {
		if v, found, err = s.getSummary(id.Epoch(), id, dst); err != nil || found {
			return id.Epoch(), v, found, err
		}
	}
	sec, ok, err := s.redirectOf(id)
	if err != nil || !ok || sec == id.Epoch() {
		return 0, dst, false, err
	}
	v, found, err = s.getSummary(sec, id, dst)
	return sec, v, found, err
}

// getSummary appends the summary stored for id at placement sec to dst.
func (s *Store) getSummary(sec uint32, id xrayid.TraceID, dst []byte) ([]byte, bool, error) {
	var key [summaryKeyLen]byte
	v, closer, err := s.db.Get(posKey(key[:0], prefixSummary, sec, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, fmt.Errorf("summary of trace %s at %d: %w", id, sec, err)
	}
	defer closer.Close()
	if len(v) < 4 {
		return dst, false, fmt.Errorf("summary of trace %s at %d: %w: %d-byte value", id, sec, errCorrupt, len(v))
	}
	_, summary := splitFieldHeader(v[4:])
	return append(dst, summary...), true, nil
}

// ScanSummaries implements store.SummaryReader.
//
// ByStart without terms iterates the summary keys backwards; ByEnd iterates
// the ByEnd keys backwards and looks each summary up by the placement they
// hold; with terms, one iterator per term walks the term's keys backwards,
// bucket by bucket, and a k-way merge yields each trace once, looked up like
// ByEnd rows. Every iterator of a scan reads the same snapshot.
//
// A row's Summary aliases an iterator buffer: it is valid until the
// iteration continues. The scan holds the database open between yields, so
// Close waits for it (and makes its next step fail with ErrClosed); the loop
// body may use the store, but must not Close it.
func (s *Store) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		fail := func(err error) { yield(store.SummaryRow{}, s.readErr(err)) }
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		switch {
		case q.Order != store.ByStart && q.Order != store.ByEnd:
			fail(fmt.Errorf("scan summaries: unknown order %d", q.Order))
			return
		case q.Order == store.ByEnd && len(q.Terms) > 0:
			fail(fmt.Errorf("scan summaries by end time with %d index terms: %w (terms index start times)",
				len(q.Terms), errors.ErrUnsupported))
			return
		}
		if err := s.beginScan(); err != nil {
			fail(err)
			return
		}
		defer s.scans.Done()
		sc := &scanner{s: s, ctx: ctx, yield: yield, now: time.Now().Unix(), where: q.Where}
		defer func() {
			if sc.its != nil { // the loop body panicked
				_ = sc.close()
			}
		}()
		r, ok := newScanRange(q)
		var err error
		switch {
		case !ok:
		case len(q.Terms) > 0:
			err = sc.terms(r, q.Terms)
		case q.Order == store.ByEnd:
			err = sc.byEnd(r)
		default:
			err = sc.byStart(r)
		}
		if cerr := sc.close(); err == nil {
			err = cerr
		}
		switch {
		case err == nil || errors.Is(err, errStop):
		case errors.Is(err, ctx.Err()) || errors.Is(err, store.ErrClosed):
			fail(err)
		default:
			fail(fmt.Errorf("scan summaries %s: %w", describeScan(q), err))
		}
	}
}

// describeScan names a scan in errors.
func describeScan(q store.SummaryScan) string {
	order := "by start"
	if q.Order == store.ByEnd {
		order = "by end"
	}
	return fmt.Sprintf("%s in [%d, %d), %d terms", order, q.From, q.To, len(q.Terms))
}

// errStop ends a scan whose caller stopped iterating.
var errStop = errors.New("stop")

// scanRange is a scan's window: seconds [from, to), and, if before is set,
// only positions below (beforeSec, beforeID) in the last second.
type scanRange struct {
	from, to  int64 // 0 <= from < to <= 1<<32
	before    bool
	beforeSec uint32
	beforeID  xrayid.TraceID
}

// newScanRange normalizes a scan's window; ok is false when it is empty.
func newScanRange(q store.SummaryScan) (r scanRange, ok bool) {
	r.from, r.to = max(q.From, 0), min(q.To, 1<<32)
	if b := q.Before; b != nil && b.Sec < r.to {
		if b.Sec < 0 {
			return r, false
		}
		r.to = b.Sec + 1
		r.before, r.beforeSec, r.beforeID = true, uint32(b.Sec), b.TraceID
	}
	return r, r.from < r.to
}

// lower returns the first key after prefix at or after second max(from, sec).
func (r *scanRange) lower(prefix []byte, sec int64) []byte {
	return binary.BigEndian.AppendUint32(prefix, uint32(max(r.from, sec)))
}

// upper returns the first key after prefix past the window, a key of
// prefix + position: when resuming, the position resumed before.
func (r *scanRange) upper(prefix []byte) []byte {
	if r.before {
		prefix = binary.BigEndian.AppendUint32(prefix, r.beforeSec)
		return append(prefix, r.beforeID[:]...)
	}
	return r.upperSec(prefix, 1<<32)
}

// upperSec returns the first key after prefix at a second past the window
// or at sec, whichever comes first.
func (r *scanRange) upperSec(prefix []byte, sec int64) []byte {
	if min(r.to, sec) > math.MaxUint32 {
		return upperBound(prefix)
	}
	return binary.BigEndian.AppendUint32(prefix, uint32(min(r.to, sec)))
}

// scanner runs one ScanSummaries call.
type scanner struct {
	s     *Store
	ctx   context.Context
	yield func(store.SummaryRow, error) bool
	now   int64
	// where are the scan's Where conditions: rows whose field header
	// fails one are yielded without their summary (headerFails).
	where []store.FieldCond
	// its are the scan's iterators, closed at the end; look is a clone of
	// the first over the summary keys, for lookups by position.
	its  []*pebble.Iterator
	look *pebble.Iterator
	key  []byte
	// res is another clone over the summary keys, which term scans
	// resolve references with (terms.go); prefix and bound are its
	// seek's scratch.
	res           *pebble.Iterator
	prefix, bound []byte
}

// open opens the scan's first iterator.
func (sc *scanner) open(lower, upper []byte) (*pebble.Iterator, error) {
	it, err := sc.s.db.NewIterWithContext(sc.ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	sc.its = append(sc.its, it)
	return it, nil
}

// clone returns an iterator over the same snapshot as the first one.
func (sc *scanner) clone(o *pebble.IterOptions) (*pebble.Iterator, error) {
	it, err := sc.its[0].CloneWithContext(sc.ctx, pebble.CloneOptions{IterOptions: o})
	if err != nil {
		return nil, err
	}
	sc.its = append(sc.its, it)
	return it, nil
}

func (sc *scanner) close() error {
	var err error
	for _, it := range sc.its {
		err = errors.Join(err, it.Close())
	}
	sc.its, sc.look, sc.res = nil, nil, nil
	if err != nil {
		return fmt.Errorf("close iterators: %w", err)
	}
	return nil
}

// step is called before each row: it stops a scan whose context is done or
// whose store is closing.
func (sc *scanner) step() error {
	if err := sc.ctx.Err(); err != nil {
		return err
	}
	if sc.s.closing.Load() {
		return store.ErrClosed
	}
	return nil
}

// emit yields a row; errStop means the caller has stopped.
func (sc *scanner) emit(sec uint32, id xrayid.TraceID, summary []byte) error {
	row := store.SummaryRow{Pos: store.Position{Sec: int64(sec), TraceID: id}, TraceID: id, Summary: summary}
	if !sc.yield(row, nil) {
		return errStop
	}
	return nil
}

// lookup returns the value of id's summary key at placement sec, read from
// the scan's snapshot, split into End, field header (nil for a value
// without one) and summary; it is valid until the next lookup.
func (sc *scanner) lookup(sec uint32, id xrayid.TraceID) (end uint32, hdr, summary []byte, found bool, err error) {
	if sc.look == nil {
		if sc.look, err = sc.clone(&pebble.IterOptions{LowerBound: []byte{prefixSummary}, UpperBound: []byte{prefixSummary + 1}}); err != nil {
			return 0, nil, nil, false, err
		}
	}
	sc.key = posKey(sc.key[:0], prefixSummary, sec, id)
	if !sc.look.SeekPrefixGE(sc.key) || !bytes.Equal(sc.look.Key(), sc.key) {
		return 0, nil, nil, false, sc.look.Error()
	}
	v, err := sc.look.ValueAndErr()
	if err != nil {
		return 0, nil, nil, false, fmt.Errorf("summary of trace %s at %d: %w", id, sec, err)
	}
	if len(v) < 4 {
		return 0, nil, nil, false, fmt.Errorf("summary of trace %s at %d: %w: %d-byte value", id, sec, errCorrupt, len(v))
	}
	hdr, summary = splitFieldHeader(v[4:])
	return binary.BigEndian.Uint32(v), hdr, summary, true, nil
}

// superseded reports whether the summary of id at placement sec has a newer
// copy at the ID's epoch. That happens to a trace first seen when its epoch
// was more than EpochFuture ahead (placed by a redirect at its arrival)
// whose later segments came once the epoch was plausible and the store had
// forgotten the redirect (a restart, or RedirectCacheSize redirects since):
// they are placed at the epoch, and so are its later summaries. The older
// copy is skipped. Only placements below the epoch by more than EpochFuture,
// with an epoch not past now+EpochFuture, need the lookup.
func (sc *scanner) superseded(sec uint32, id xrayid.TraceID) (bool, error) {
	future := int64(sc.s.opts.EpochFuture / time.Second)
	e := int64(id.Epoch())
	if e <= int64(sec)+future || e > sc.now+future {
		return false, nil
	}
	_, _, _, found, err := sc.lookup(uint32(e), id)
	return found, err
}

// byStart scans the summary keys.
func (sc *scanner) byStart(r scanRange) error {
	p := []byte{prefixSummary}
	it, err := sc.open(r.lower(p, 0), r.upper(p))
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	for ok := it.Last(); ok; ok = it.Prev() {
		if err := sc.step(); err != nil {
			return err
		}
		sec, id, ok := parsePos(it.Key(), summaryKeyLen)
		if !ok {
			return fmt.Errorf("%w: summary key %x", errCorrupt, it.Key())
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("summary of trace %s at %d: %w", id, sec, err)
		}
		if len(v) < 4 {
			return fmt.Errorf("summary of trace %s at %d: %w: %d-byte value", id, sec, errCorrupt, len(v))
		}
		hdr, summary := splitFieldHeader(v[4:])
		old, err := sc.superseded(sec, id)
		if err != nil {
			return err
		}
		if old {
			continue
		}
		if headerFails(hdr, sc.where) {
			summary = nil // skipped: yielded as a position only (store.SummaryScan.Where)
		}
		if err := sc.emit(sec, id, summary); err != nil {
			return err
		}
	}
	return it.Error()
}

// byEnd scans the ByEnd keys. An entry whose summary is gone (dropped by
// retention) or ends elsewhere (left behind by a wrong PrevEnd) is skipped,
// so a trace appears at most once, at its latest End.
func (sc *scanner) byEnd(r scanRange) error {
	p := []byte{prefixEnd}
	it, err := sc.open(r.lower(p, 0), r.upper(p))
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	for ok := it.Last(); ok; ok = it.Prev() {
		if err := sc.step(); err != nil {
			return err
		}
		end, id, ok := parsePos(it.Key(), endKeyLen)
		if !ok {
			return fmt.Errorf("%w: end key %x", errCorrupt, it.Key())
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("end entry of trace %s at %d: %w", id, end, err)
		}
		if len(v) != 4 {
			return fmt.Errorf("end entry of trace %s at %d: %w: %d-byte value", id, end, errCorrupt, len(v))
		}
		storedEnd, hdr, summary, found, err := sc.lookup(binary.BigEndian.Uint32(v), id)
		if err != nil {
			return err
		}
		if !found || storedEnd != end {
			continue
		}
		if headerFails(hdr, sc.where) {
			summary = nil // skipped: yielded as a position only
		}
		if err := sc.emit(end, id, summary); err != nil {
			return err
		}
	}
	return it.Error()
}
