package pebblestore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// redirectDeleteChunk bounds the redirects deleted per batch, so that a
// large expiry neither builds one huge batch nor holds up Writes.
const redirectDeleteChunk = 10_000

// DropBefore implements store.Store. Its partition is the minute: traces
// placed before the minute that contains cutoff are dropped. Everything is
// deleted by range, except redirects (see deleteRedirects).
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
	minute = min(minute, math.MaxUint32/60)
	sec := uint32(minute * 60)

	if err := s.deleteRedirects(ctx, sec); err != nil {
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
	dropped, err := s.sumCounts(0, uint32(minute))
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	ranges := [][2][]byte{
		{secKey(prefixTrace, 0), secKey(prefixTrace, sec)},
		{secKey(prefixRedirectTime, 0), secKey(prefixRedirectTime, sec)},
		{secKey(prefixCount, 0), secKey(prefixCount, uint32(minute))},
		{frameKey(nil, 0), frameKey(nil, frameEnd)},
	}
	for _, r := range ranges {
		if err := b.DeleteRange(r[0], r[1], nil); err != nil {
			return fmt.Errorf("drop before %s: %w", cutoff.Format(time.RFC3339), err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("drop before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	s.records.Add(-dropped)
	s.mu.Lock()
	s.redirects.dropBefore(sec)
	s.mu.Unlock()
	return nil
}

// deleteRedirects deletes the redirects of traces placed before sec. They are
// keyed by trace ID, so each is found through its time-ordered twin (p key)
// and deleted on its own; the twins go by range. Only traces with
// implausible ID epochs have redirects.
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
		b := s.db.NewBatch()
		n := 0
		var last []byte
		for ok := it.First(); ok && n < redirectDeleteChunk; ok = it.Next() {
			k := it.Key()
			if len(k) == redirectTimeLen {
				_ = b.Delete(append([]byte{prefixRedirect}, k[5:]...), nil)
			}
			last = append(last[:0], k...)
			n++
		}
		if err := it.Close(); err != nil {
			b.Close()
			return fmt.Errorf("list expired redirects: %w", err)
		}
		if n == 0 {
			b.Close()
			return nil
		}
		// The twins listed so far go with their redirects, so the next
		// round starts after them.
		_ = b.DeleteRange(lower, append(last, 0), nil)
		err = b.Commit(pebble.NoSync)
		b.Close()
		if err != nil {
			return fmt.Errorf("delete expired redirects: %w", err)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
