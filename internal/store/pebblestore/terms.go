package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// A term scan walks references (j keys, and the 16-byte IDs of i keys that
// format 3 wrote) as forms: the prefix of a trace ID that a reference gives,
// zero-padded to 16 bytes. A reference by epoch at sec widens to sec + its 8
// bytes (a 12-byte prefix), a reference by arrival to its 8 bytes (an 8-byte
// prefix); an old full ID widens to the form its reference would have, so
// that the same trace under old and new keys is one form. Forms of distinct
// traces differ unless their references do, and forms keep ID order: a form
// below another covers only IDs below the other's (a form starts with sec
// exactly when it is by epoch, so forms of the two kinds never overlap).
// Each form is resolved to its traces by a seek on the summary keys.
const formLen = 16

// widen returns the form of a reference of kind at sec.
func widen(sec uint32, kind byte, ref []byte) (f [formLen]byte) {
	if kind == refByEpoch {
		binary.BigEndian.PutUint32(f[:4], sec)
		copy(f[4:12], ref)
	} else {
		copy(f[:refLen], ref)
	}
	return f
}

// formOf returns the form of trace id placed at sec.
func formOf(sec uint32, id xrayid.TraceID) [formLen]byte {
	kind, ref := traceRef(sec, id)
	return widen(sec, kind, ref[:])
}

// formPrefixLen returns how many leading bytes of a form at sec are its
// traces' ID prefix.
func formPrefixLen(sec uint32, f []byte) int {
	if binary.BigEndian.Uint32(f) == sec {
		return 4 + refLen
	}
	return refLen
}

// termCursor walks one term's references in one bucket, backwards: its keys
// (one or two per second in j, one in i) and in each second the forms.
type termCursor struct {
	it     *pebble.Iterator
	term   store.Term
	legacy bool         // over i keys (format 3's 16-byte IDs), not j keys
	valid  bool         // it is on a key not loaded yet
	forms  []byte       // the current second's forms, ascending
	k      int          // the current form is forms[formLen*k:]
	pos    [posLen]byte // the current second + form
	spare  [][formLen]byte
	// dense is set in a bucket where the term is dense (dense.go): the
	// cursor then walks the bucket's summary keys with sit instead.
	dense bool
	sit   *pebble.Iterator
}

// isDense reports whether term is dense in bucket b. probe ranges over
// the term keys.
func isDense(probe *pebble.Iterator, b uint32, term store.Term, key []byte) (bool, []byte, error) {
	key = denseKey(key[:0], b, term)
	if probe.SeekGE(key) && bytes.Equal(probe.Key(), key) {
		return true, key, nil
	}
	return false, key, probe.Error()
}

// denseBounds returns the summary keys of the window's part of bucket b.
func denseBounds(r scanRange, b int64) (lower, upper []byte) {
	lower = secKey(prefixSummary, uint32(max(r.from, b*termBucketSecs)))
	if hi := min(r.to, (b+1)*termBucketSecs); hi <= math.MaxUint32 {
		return lower, secKey(prefixSummary, uint32(hi))
	}
	return lower, []byte{prefixSummary + 1}
}

// loadDense positions a dense cursor on the form of the summary its
// iterator is on, or the first before it in the window.
func (c *termCursor) loadDense(r scanRange) (bool, error) {
	for c.valid {
		k := c.sit.Key()
		sec, id, ok := parsePos(k, summaryKeyLen)
		if !ok {
			return false, fmt.Errorf("%w: summary key %x", errCorrupt, k)
		}
		c.valid = c.sit.Prev()
		f := formOf(sec, id)
		if r.before && sec == r.beforeSec {
			if m := formOf(sec, r.beforeID); bytes.Compare(f[:], m[:]) > 0 {
				continue
			}
		}
		binary.BigEndian.PutUint32(c.pos[:4], sec)
		copy(c.pos[4:], f[:])
		return true, nil
	}
	return false, c.sit.Error()
}

// prefix returns the cursor's key prefix in bucket b.
func (c *termCursor) prefix(dst []byte, b uint32) []byte {
	if c.legacy {
		return termKeyPrefix(dst, b, c.term)
	}
	return refKeyPrefix(dst, b, c.term)
}

func (c *termCursor) keyLen() int {
	if c.legacy {
		return termKeyLen
	}
	return refKeyLen
}

// load positions the cursor on the last form of the newest second its
// iterator has left in the window, moving back over seconds that have none.
// It reports whether the cursor has a form.
func (c *termCursor) load(r scanRange) (bool, error) {
	for c.valid {
		k := c.it.Key()
		if len(k) != c.keyLen() {
			return false, fmt.Errorf("%w: term key %x", errCorrupt, k)
		}
		sec := binary.BigEndian.Uint32(k[termKeyPrefixLen:])
		c.forms = c.forms[:0]
		keys := 0
		for {
			v, err := c.it.ValueAndErr()
			if err != nil {
				return false, fmt.Errorf("term key %x: %w", k, err)
			}
			if err := c.appendForms(sec, k, v); err != nil {
				return false, err
			}
			keys++
			if c.valid = c.it.Prev(); !c.valid || c.legacy {
				break
			}
			if k = c.it.Key(); len(k) != refKeyLen {
				return false, fmt.Errorf("%w: term key %x", errCorrupt, k)
			}
			if binary.BigEndian.Uint32(k[termKeyPrefixLen:]) != sec {
				break
			}
		}
		if keys > 1 {
			c.sortForms() // both kinds in one second: interleave them
		}
		n := len(c.forms) / formLen
		if r.before && sec == r.beforeSec {
			// Only the forms that may cover IDs below the one to resume
			// before; candidate drops the rest of the IDs they cover.
			m := formOf(sec, r.beforeID)
			n = countFormsAtMost(c.forms, m[:])
		}
		if c.k = n - 1; c.k >= 0 {
			binary.BigEndian.PutUint32(c.pos[:4], sec)
			copy(c.pos[4:], c.forms[formLen*c.k:])
			return true, nil
		}
	}
	return false, c.it.Error()
}

// appendForms adds the forms of one key's value, checking that it is a
// sorted list without duplicates.
func (c *termCursor) appendForms(sec uint32, k, v []byte) error {
	if c.legacy {
		if len(v)%16 != 0 {
			return fmt.Errorf("term key %x: %w: %d-byte value", k, errCorrupt, len(v))
		}
		for i := 0; i < len(v); i += 16 {
			if i > 0 && bytes.Compare(v[i-16:i], v[i:i+16]) >= 0 {
				return fmt.Errorf("term key %x: %w: IDs out of order", k, errCorrupt)
			}
			f := formOf(sec, xrayid.TraceID(v[i:i+16]))
			if n := len(c.forms); n > 0 && bytes.Equal(c.forms[n-formLen:], f[:]) {
				continue // two IDs with one reference: the form covers both
			}
			c.forms = append(c.forms, f[:]...)
		}
		return nil
	}
	kind := k[len(k)-1]
	if kind == refDense && binary.BigEndian.Uint32(k[termKeyPrefixLen:]) == denseSec {
		return nil // a dense marker: only in a window past 2106
	}
	if len(v)%refLen != 0 || kind != refByEpoch && kind != refByArrival {
		return fmt.Errorf("term key %x: %w: %d-byte value", k, errCorrupt, len(v))
	}
	for i := 0; i < len(v); i += refLen {
		if i > 0 && bytes.Compare(v[i-refLen:i], v[i:i+refLen]) >= 0 {
			return fmt.Errorf("term key %x: %w: references out of order", k, errCorrupt)
		}
		f := widen(sec, kind, v[i:i+refLen])
		c.forms = append(c.forms, f[:]...)
	}
	return nil
}

// sortForms sorts the current forms and removes duplicates.
func (c *termCursor) sortForms() {
	c.spare = c.spare[:0]
	for i := 0; i < len(c.forms); i += formLen {
		c.spare = append(c.spare, [formLen]byte(c.forms[i:]))
	}
	slices.SortFunc(c.spare, func(a, b [formLen]byte) int { return bytes.Compare(a[:], b[:]) })
	c.spare = slices.Compact(c.spare)
	c.forms = c.forms[:0]
	for i := range c.spare {
		c.forms = append(c.forms, c.spare[i][:]...)
	}
}

// countFormsAtMost returns the number of forms in a sorted list at or
// below m.
func countFormsAtMost(forms, m []byte) int {
	lo, hi := 0, len(forms)/formLen
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(forms[formLen*mid:formLen*mid+formLen], m) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// next moves the cursor to its previous form.
func (c *termCursor) next(r scanRange) (bool, error) {
	if c.dense {
		return c.loadDense(r)
	}
	if c.k--; c.k >= 0 {
		copy(c.pos[4:], c.forms[formLen*c.k:])
		return true, nil
	}
	return c.load(r)
}

// termIterBounds cover the i and j keys.
var termIterBounds = pebble.IterOptions{LowerBound: []byte{prefixTerm}, UpperBound: []byte{prefixRef + 1}}

// hasLegacyTerms reports whether the store holds i keys (written by format
// 3), which scans then read too. it ranges over the term keys.
func hasLegacyTerms(it *pebble.Iterator) (bool, error) {
	if it.SeekGE([]byte{prefixTerm}) && it.Key()[0] == prefixTerm {
		return true, nil
	}
	return false, it.Error()
}

// terms scans the union of the terms' traces. Buckets partition time, so
// the merge runs bucket by bucket, newest first; within one, a max-heap of
// cursors yields positions in descending order, and a position equal to
// the previous one is the same trace under another term (or under an old
// and a new key).
func (sc *scanner) terms(r scanRange, terms []store.Term) error {
	terms = slices.Compact(slices.Sorted(slices.Values(terms)))
	if _, err := sc.open(termIterBounds.LowerBound, termIterBounds.UpperBound); err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	probe, err := sc.clone(nil)
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	legacy, err := hasLegacyTerms(probe)
	if err != nil {
		return err
	}
	var cursors []termCursor
	for _, t := range terms {
		cursors = append(cursors, termCursor{term: t})
		if legacy {
			cursors = append(cursors, termCursor{term: t, legacy: true})
		}
	}
	for i := range cursors {
		if cursors[i].it, err = sc.clone(nil); err != nil {
			return fmt.Errorf("open iterator: %w", err)
		}
	}
	h := make(cursorHeap, 0, len(cursors))
	var prefix, lower []byte
	var last [posLen]byte
	for b := (r.to - 1) / termBucketSecs; b >= r.from/termBucketSecs; b-- {
		if b, err = nextBucket(probe, b, legacy); err != nil || b < r.from/termBucketSecs {
			return err
		}
		h = h[:0]
		for i := range cursors {
			c := &cursors[i]
			if !c.legacy {
				if c.dense, prefix, err = isDense(probe, uint32(b), c.term, prefix); err != nil {
					return err
				}
			}
			if c.dense {
				if c.sit == nil {
					if c.sit, err = sc.clone(&pebble.IterOptions{LowerBound: []byte{prefixSummary}, UpperBound: []byte{prefixSummary + 1}}); err != nil {
						return fmt.Errorf("open iterator: %w", err)
					}
				}
				c.sit.SetBounds(denseBounds(r, b))
				c.valid = c.sit.Last()
				ok, err := c.loadDense(r)
				if err != nil {
					return err
				}
				if ok {
					h = append(h, c)
				}
				continue
			}
			prefix = c.prefix(prefix[:0], uint32(b))
			lower = r.lower(append(lower[:0], prefix...), b*termBucketSecs)
			c.it.SetBounds(lower, r.upperSec(prefix, (b+1)*termBucketSecs))
			c.valid = c.it.Last()
			ok, err := c.load(r)
			if err != nil {
				return err
			}
			if ok {
				h = append(h, c)
			}
		}
		h.init()
		first := true
		for len(h) > 0 {
			c := h[0]
			if first || c.pos != last {
				first = false
				last = c.pos
				if err := sc.candidate(last, &r); err != nil {
					return err
				}
			}
			ok, err := c.next(r)
			if err != nil {
				return err
			}
			if ok {
				h.down(0)
			} else {
				h.pop()
			}
		}
	}
	return nil
}

// nextBucket returns the newest bucket at or below b that holds terms (j
// keys, and i keys if legacy), or -1: windows may span many empty buckets
// (a scan of all time spans a million), and this skips them with a seek or
// two. probe ranges over the term keys.
func nextBucket(probe *pebble.Iterator, b int64, legacy bool) (int64, error) {
	found := int64(-1)
	for _, p := range []byte{prefixRef, prefixTerm} {
		if p == prefixTerm && !legacy {
			continue
		}
		if !probe.SeekLT(secKey(p, uint32(b+1))) {
			if err := probe.Error(); err != nil {
				return -1, err
			}
			continue
		}
		k := probe.Key()
		if k[0] != p {
			continue
		}
		if p == prefixTerm && len(k) != termKeyLen || p == prefixRef && len(k) != refKeyLen {
			return -1, fmt.Errorf("%w: term key %x", errCorrupt, k)
		}
		found = max(found, int64(binary.BigEndian.Uint32(k[1:])))
	}
	return found, nil
}

// candidate yields the traces a form at a position covers (normally one),
// newest first, unless gone (terms of dropped traces may outlive them
// briefly) or superseded, and, in the second a scan resumes in, only those
// below the position it resumes before.
func (sc *scanner) candidate(pos [posLen]byte, r *scanRange) error {
	if err := sc.step(); err != nil {
		return err
	}
	if sc.res == nil {
		var err error
		if sc.res, err = sc.clone(&pebble.IterOptions{LowerBound: []byte{prefixSummary}, UpperBound: []byte{prefixSummary + 1}}); err != nil {
			return err
		}
	}
	sec := binary.BigEndian.Uint32(pos[:4])
	sc.prefix = append(append(sc.prefix[:0], prefixSummary), pos[:4+formPrefixLen(sec, pos[4:])]...)
	sc.bound = append(sc.bound[:0], sc.prefix...)
	sc.bound = upperBoundInPlace(sc.bound)
	for ok := sc.res.SeekLT(sc.bound); ok; ok = sc.res.Prev() {
		k := sc.res.Key()
		if !bytes.HasPrefix(k, sc.prefix) {
			break
		}
		_, id, ok := parsePos(k, summaryKeyLen)
		if !ok {
			return fmt.Errorf("%w: summary key %x", errCorrupt, k)
		}
		if r.before && sec == r.beforeSec && compareTraceIDs(id, r.beforeID) >= 0 {
			continue
		}
		v, err := sc.res.ValueAndErr()
		if err != nil {
			return fmt.Errorf("summary of trace %s at %d: %w", id, sec, err)
		}
		if len(v) < 4 {
			return fmt.Errorf("summary of trace %s at %d: %w: %d-byte value", id, sec, errCorrupt, len(v))
		}
		if old, err := sc.superseded(sec, id); err != nil || old {
			if err != nil {
				return err
			}
			continue
		}
		hdr, summary := splitFieldHeader(v[4:])
		if headerFails(hdr, sc.where) {
			summary = nil // skipped: yielded as a position only
		}
		if err := sc.emit(sec, id, summary); err != nil {
			return err
		}
	}
	return sc.res.Error()
}

// upperBoundInPlace is upperBound without a copy.
func upperBoundInPlace(b []byte) []byte {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return b[:i+1]
		}
	}
	return nil
}

// cursorHeap is a max-heap of cursors by position.
type cursorHeap []*termCursor

func (h cursorHeap) less(i, j int) bool { return bytes.Compare(h[i].pos[:], h[j].pos[:]) > 0 }

func (h cursorHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h cursorHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

func (h *cursorHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
}

// CountTerm implements store.SummaryReader: it adds up the lengths of the
// term's reference lists in the buckets of [from, to), up to limit. A trace
// counts once per placement (twice only in the rare case superseded
// describes, or while a store upgraded from format 3 lists it under an old
// and a new key). Terms of traces dropped with the last partial hour before
// a DropBefore cutoff may be counted until the next one.
func (s *Store) CountTerm(ctx context.Context, term store.Term, from, to int64, limit int) (int, error) {
	return s.EstimateTerms(ctx, []store.Term{term}, from, to, limit)
}

// EstimateTerms implements store.TermEstimator: CountTerm's sum over the
// terms, on one iterator (a trace under several terms counts once per
// term), up to limit.
func (s *Store) EstimateTerms(ctx context.Context, terms []store.Term, from, to int64, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	r, ok := newScanRange(store.SummaryScan{From: from, To: to})
	if !ok || limit <= 0 || len(terms) == 0 {
		return 0, nil
	}
	it, err := s.db.NewIterWithContext(ctx, &termIterBounds)
	if err != nil {
		return 0, fmt.Errorf("estimate %d terms: %w", len(terms), err)
	}
	sum := 0
	for _, term := range terms {
		var n int
		n, err = countTerm(ctx, it, term, r, limit-sum)
		if err != nil {
			err = fmt.Errorf("count term %x in [%d, %d): %w", uint64(term), from, to, err)
			break
		}
		if sum += n; sum >= limit {
			sum = limit
			break
		}
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return sum, s.readErr(err)
	}
	return sum, nil
}

func countTerm(ctx context.Context, it *pebble.Iterator, term store.Term, r scanRange, limit int) (int, error) {
	it.SetBounds(termIterBounds.LowerBound, termIterBounds.UpperBound)
	legacy, err := hasLegacyTerms(it)
	if err != nil {
		return 0, err
	}
	cursors := []termCursor{{term: term}}
	if legacy {
		cursors = append(cursors, termCursor{term: term, legacy: true})
	}
	n := 0
	var prefix, lower []byte
	for b := (r.to - 1) / termBucketSecs; b >= r.from/termBucketSecs; b-- {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		it.SetBounds(termIterBounds.LowerBound, termIterBounds.UpperBound)
		if b, err = nextBucket(it, b, legacy); err != nil || b < r.from/termBucketSecs {
			return n, err
		}
		for _, c := range cursors {
			if !c.legacy {
				it.SetBounds(termIterBounds.LowerBound, termIterBounds.UpperBound)
				dense, key, err := isDense(it, uint32(b), term, prefix)
				if prefix = key; err != nil {
					return n, err
				}
				if dense {
					// Every summary of the bucket may carry the term.
					it.SetBounds(denseBounds(r, b))
					for ok := it.First(); ok; ok = it.Next() {
						if n++; n >= limit {
							return limit, nil
						}
					}
					if err := it.Error(); err != nil {
						return n, err
					}
					continue
				}
			}
			prefix = c.prefix(prefix[:0], uint32(b))
			lower = r.lower(append(lower[:0], prefix...), b*termBucketSecs)
			it.SetBounds(lower, r.upperSec(prefix, (b+1)*termBucketSecs))
			width := refLen
			if c.legacy {
				width = 16
			}
			for ok := it.First(); ok; ok = it.Next() {
				if len(it.Key()) != c.keyLen() {
					return n, fmt.Errorf("%w: term key %x", errCorrupt, it.Key())
				}
				v, err := it.ValueAndErr()
				if err != nil {
					return n, err
				}
				if len(v)%width != 0 {
					return n, fmt.Errorf("term key %x: %w: %d-byte value", it.Key(), errCorrupt, len(v))
				}
				if n += len(v) / width; n >= limit {
					return limit, nil
				}
				if err := ctx.Err(); err != nil {
					return n, err
				}
			}
			if err := it.Error(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
