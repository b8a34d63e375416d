package pebblestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// redirectDeleteChunk bounds the redirects deleted per batch, so that a
// large expiry neither builds one huge batch nor holds up Writes.
const redirectDeleteChunk = 10_000

// DropBefore implements store.Store. Its partition is the minute: traces
// placed before the minute that contains cutoff are dropped, with their
// summaries, and so are the graph counters of those minutes. Log lines go
// by the day (their partition, nsPerDay): those of the days before the
// cutoff's. Index terms go by the hour (their partition, termBucketSecs):
// those of the cutoff's hour stay until a later call, pointing at summaries
// that are gone, which scans skip. ByEnd entries go by their own second,
// End: an entry of a dropped trace that ended after the cutoff stays until
// the cutoff passes it, and scans skip it too. Everything is deleted by
// range, except redirects (see deleteRedirects).
//
// Writes continue during the slow part (listing and deleting redirects) and
// wait only while the counts are read and the ranges deleted.
func (s *Store) DropBefore(ctx context.Context, cutoff time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	s.dropSerial.Lock()
	defer s.dropSerial.Unlock()

	minute := floorDiv(cutoff.Unix(), 60)
	if minute <= 0 {
		return nil
	}
	graphMinute, cutoffDay := minute, logDay(lineNanos(cutoff))
	minute = min(minute, math.MaxUint32/60)
	sec := uint32(minute * 60)

	if err := s.deleteRedirects(ctx, sec); err != nil {
		return err
	}
	defer func() {
		s.mu.Lock()
		s.dropCutoff, s.dropLate = 0, nil
		s.mu.Unlock()
	}()
	if err := s.deleteIndexedRedirects(ctx, sec); err != nil {
		return err
	}

	// A frame written at time w holds traces placed at most EpochFuture
	// after w (arrivalSec clamps arrivals to the write time), so frames
	// written before sec − EpochFuture hold only traces placed before sec.
	var frameEnd uint64
	if fs := int64(sec) - int64(s.opts.EpochFuture/time.Second); fs > 0 {
		frameEnd = uint64(fs) * uint64(time.Second)
	}

	s.dropMu.Lock()
	defer s.dropMu.Unlock()
	// Again, for redirects that Writes created during the first pass: there
	// are few, and no Write runs now.
	if err := s.deleteRedirects(ctx, sec); err != nil {
		return err
	}
	if err := s.deleteLateRedirects(); err != nil {
		return err
	}
	dropped, err := s.sumCounts(0, uint32(minute))
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	ranges := [][2][]byte{
		{secKey(prefixTrace, 0), secKey(prefixTrace, sec)},
		{secKey(prefixCount, 0), secKey(prefixCount, uint32(minute))},
		{frameKey(nil, 0), frameKey(nil, frameEnd)},
		{secKey(prefixSummary, 0), secKey(prefixSummary, sec)},
		{secKey(prefixEnd, 0), secKey(prefixEnd, sec)},
		{secKey(prefixTerm, 0), secKey(prefixTerm, sec/termBucketSecs)},
		{secKey(prefixRef, 0), secKey(prefixRef, sec/termBucketSecs)},
		{[]byte{prefixGraph}, graphMinuteKey(graphMinute)},
	}
	for _, kind := range []byte{logByTrace, logByRequest, logByFunction} {
		ranges = append(ranges, [2][]byte{{prefixLog, kind}, logDayKey(kind, cutoffDay)})
	}
	for _, r := range ranges {
		if err := b.DeleteRange(r[0], r[1], nil); err != nil {
			return fmt.Errorf("drop before %s: %w", cutoff.Format(time.RFC3339), err)
		}
	}
	if err := s.commitBatch(b, pebble.Sync); err != nil {
		return fmt.Errorf("drop before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	s.records.Add(-dropped)
	s.mu.Lock()
	s.redirects.dropBefore(sec)
	s.mu.Unlock()
	return nil
}

// deleteIndexedRedirects deletes the redirects of traces placed before sec
// that have index keys there: a redirected trace is one whose placement
// second is not its ID's epoch. The redirects are keyed by trace ID, so
// each is deleted on its own, found through the index keys, which go by
// range afterwards. The listing reads a snapshot taken while no Write is
// under way; the traces that Writes redirect below sec after it are
// remembered (placeLocked) and deleted by deleteLateRedirects. Writes go
// on during the listing.
//
// This replaced the time-ordered twin of every redirect (p key, format 3),
// which cost ~20 bytes per redirected trace on disk; only a redirect
// written without records still gets one (deleteRedirects).
func (s *Store) deleteIndexedRedirects(ctx context.Context, sec uint32) error {
	s.dropMu.Lock()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: secKey(prefixTrace, 0), UpperBound: secKey(prefixTrace, sec)})
	if err == nil {
		s.mu.Lock()
		s.dropCutoff, s.dropLate = sec, nil
		s.mu.Unlock()
	}
	s.dropMu.Unlock()
	if err != nil {
		return fmt.Errorf("list expired redirects: %w", err)
	}
	b := s.db.NewBatch()
	defer func() { b.Close() }()
	n := 0
	var last xrayid.TraceID
	for ok := it.First(); ok && err == nil; ok = it.Next() {
		k := it.Key()
		if len(k) != traceKeyLen {
			continue
		}
		id := xrayid.TraceID(k[5:])
		if binary.BigEndian.Uint32(k[1:]) == id.Epoch() || n > 0 && id == last {
			continue
		}
		last = id
		if err = b.Delete(redirectKey(nil, id), nil); err != nil {
			break
		}
		if n++; n%redirectDeleteChunk == 0 {
			if err = ctx.Err(); err == nil {
				err = s.commitBatch(b, pebble.NoSync)
			}
			b.Close()
			b = s.db.NewBatch()
		}
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err == nil && !b.Empty() {
		err = s.commitBatch(b, pebble.NoSync)
	}
	if err != nil {
		return fmt.Errorf("delete expired redirects: %w", err)
	}
	return nil
}

// deleteLateRedirects deletes the redirects below the cutoff that Writes
// made during deleteIndexedRedirects' listing. The caller holds dropMu.
func (s *Store) deleteLateRedirects() error {
	s.mu.Lock()
	late := s.dropLate
	s.dropLate = nil
	s.mu.Unlock()
	if len(late) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, id := range late {
		if err := b.Delete(redirectKey(nil, id), nil); err != nil {
			return fmt.Errorf("delete expired redirects: %w", err)
		}
	}
	if err := s.commitBatch(b, pebble.NoSync); err != nil {
		return fmt.Errorf("delete expired redirects: %w", err)
	}
	return nil
}

// deleteRedirects deletes the redirects of traces placed before sec that
// have a time-ordered twin (p key): all of those format 3 wrote, and those
// written since without records. They are keyed by trace ID, so each is
// found through its twin and deleted on its own; the twins go by range.
// Only traces with implausible ID epochs have redirects.
//
// A crash part way leaves twins behind, and the next call finishes the job.
func (s *Store) deleteRedirects(ctx context.Context, sec uint32) error {
	lower, upper := secKey(prefixRedirectTime, 0), secKey(prefixRedirectTime, sec)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return fmt.Errorf("list expired redirects: %w", err)
		}
		done, err := s.deleteRedirectChunk(it, lower)
		if err != nil || done {
			return err
		}
	}
}

// deleteRedirectChunk deletes the redirects of up to redirectDeleteChunk
// twins listed by it (which it closes), and the twins themselves. It reports
// whether there were none left.
func (s *Store) deleteRedirectChunk(it *pebble.Iterator, lower []byte) (done bool, err error) {
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	var last []byte
	for ok := it.First(); ok && n < redirectDeleteChunk && err == nil; ok = it.Next() {
		k := it.Key()
		if len(k) == redirectTimeLen {
			err = b.Delete(append([]byte{prefixRedirect}, k[5:]...), nil)
		}
		last = append(last[:0], k...)
		n++
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("list expired redirects: %w", err)
	}
	if n == 0 {
		return true, nil
	}
	// The twins listed so far go with their redirects, so the next round
	// starts after them.
	if err := b.DeleteRange(lower, append(last, 0), nil); err != nil {
		return false, fmt.Errorf("delete expired redirects: %w", err)
	}
	if err := s.commitBatch(b, pebble.NoSync); err != nil {
		return false, fmt.Errorf("delete expired redirects: %w", err)
	}
	return false, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
