package pebblestore

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// summaryRange is the range of placement seconds summary keys may be at: the
// first and last when the store opened, widened by every placement since. A
// trace looked up by ID is tried at its epoch second first; a random (W3C)
// trace ID's epoch is nearly always outside this range (anywhere from 1970
// to 2106), and the lookup of a new trace, which the summarizer makes for
// every trace it has not seen, then costs no Pebble read that can only miss.
// Deletes (retention) leave it wider than needed, which is safe.
//
// It is read without s.mu: it only widens, and a Write widens it (in
// placeAll) before it commits the summaries it places.
type summaryRange struct {
	v atomic.Uint64 // lo<<32 | hi; lo > hi when no summary is stored
}

const emptySummaryRange = math.MaxUint32 << 32

// widen makes the range hold sec.
func (r *summaryRange) widen(sec uint32) {
	for {
		old := r.v.Load()
		lo, hi := uint32(old>>32), uint32(old)
		if lo <= sec && sec <= hi {
			return
		}
		if lo > hi { // empty
			lo, hi = sec, sec
		} else {
			lo, hi = min(lo, sec), max(hi, sec)
		}
		if r.v.CompareAndSwap(old, uint64(lo)<<32|uint64(hi)) {
			return
		}
	}
}

// mayHold reports whether a summary may be stored at second sec.
func (r *summaryRange) mayHold(sec uint32) bool {
	v := r.v.Load()
	return uint32(v>>32) <= sec && sec <= uint32(v)
}

// loadSummaryRange reads the first and last summary keys' seconds.
func (s *Store) loadSummaryRange() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSummary}, UpperBound: []byte{prefixSummary + 1}})
	if err != nil {
		return fmt.Errorf("find the summaries' range: %w", err)
	}
	// One store at the end: a reader during a reopen (health.go) must
	// never see a range narrower than the truth.
	rng := uint64(emptySummaryRange)
	if it.First() {
		lo, okLo := summaryKeySec(it.Key())
		var hi uint32
		okHi := it.Last()
		if okHi {
			hi, okHi = summaryKeySec(it.Key())
		}
		if okLo && okHi {
			rng = uint64(lo)<<32 | uint64(hi)
		} else {
			rng = math.MaxUint32 // a key of another length under the prefix: assume nothing
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("find the summaries' range: %w", err)
	}
	if old := s.sums.v.Load(); uint32(old>>32) <= uint32(old) {
		// Reopened: keep what this process placed meanwhile.
		rng = uint64(min(uint32(rng>>32), uint32(old>>32)))<<32 | uint64(max(uint32(rng), uint32(old)))
	}
	s.sums.v.Store(rng)
	return nil
}

func summaryKeySec(k []byte) (uint32, bool) {
	if len(k) != summaryKeyLen {
		return 0, false
	}
	return binary.BigEndian.Uint32(k[1:5]), true
}
