package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Scans read the window in time slices, newest first: a slice is a range
// of the primary key (summaries by place for ByStart, summary_ends by
// end_sec for ByEnd), so a page costs what its slice holds, not what the
// window holds (18.16 cannot read a table in key order to stop at a
// LIMIT: without slices every page grouped every revision of the window).
// The first slice is firstSlice seconds wide; a slice that yields less
// than a page makes the next one wider (sparseGrowth when nearly empty),
// so an empty or sparse window costs a few dozen small queries at most.
//
// A page is two queries. The first groups the revisions of the slice's
// traces by trace and finds the newest one's position, seq and, for a
// scan with Where conditions, whether it meets them; it reads none of the
// summary blobs. The second reads the blobs of the page's traces that
// meet the conditions by primary key; the others are yielded as positions
// with a nil Summary (store.SummaryScan.Where).
//
// A scan that may fold (SummaryScan.Fold, with conditions whereSQL can
// test) first counts, per second of the slice, the traces and those that
// meet the conditions (one small row per second, still no blobs): a second
// where none does is yielded as one folded row, and only the runs of other
// seconds are read as pages. A scan that matches nothing then costs a
// query per slice instead of one per pageSize traces and sends a row per
// second instead of one per trace.
const (
	firstSlice   = 16
	sparseGrowth = 8
	// foldBatch is about how many rows a folding scan reads row by row in
	// one query.
	foldBatch = 4 * pageSize
	maxSlice  = 1 << 61
)

// clampSec keeps scan bounds within what the tables can hold, so that
// they format as ordinary literals.
func clampSec(v int64) int64 { return min(max(v, -1<<62), 1<<62) }

// scanRow is a row of a page's first query.
type scanRow struct {
	id    xrayid.TraceID
	pos   int64
	place int64
	ok    bool
}

// ScanSummaries pages through the summaries newest first, slice by slice.
func (s *Store) ScanSummaries(ctx context.Context, q store.SummaryScan) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.SummaryRow{}, err)
			return
		}
		if q.Order == store.ByEnd && len(q.Terms) > 0 {
			yield(store.SummaryRow{}, fmt.Errorf("clickhouse: index terms restrict only ByStart scans: %w", errors.ErrUnsupported))
			return
		}
		if q.Order != store.ByStart && q.Order != store.ByEnd {
			yield(store.SummaryRow{}, fmt.Errorf("clickhouse: unknown scan order %d", q.Order))
			return
		}
		from, to := clampSec(q.From), clampSec(q.To)
		var terms string
		if len(q.Terms) > 0 {
			var b strings.Builder
			for i, t := range q.Terms {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%d", uint64(t))
			}
			terms = b.String()
		}
		sc := scanner{s: s, order: q.Order, terms: terms, ok: whereSQL(q.Where), before: q.Before, fold: q.Fold, yield: yield}
		if q.Positions {
			// No blob is read: every row is a position.
			sc.ok, sc.fold = "0", 0
		}
		// Folding needs a condition the first query can test.
		canFold := sc.ok != "1" && sc.fold > 0
		hi := to
		if sc.before != nil {
			hi = min(hi, clampSec(sc.before.Sec)+1)
		}
		width := int64(firstSlice)
		for hi > from {
			lo := max(from, hi-width)
			var n int
			var more bool
			if canFold && sc.yielded < sc.fold {
				n, more = sc.foldSlice(ctx, lo, hi)
			} else {
				n, more = sc.pages(ctx, lo, hi)
			}
			if !more {
				return
			}
			hi = lo
			switch {
			case n < pageSize/8:
				width = min(width, maxSlice/sparseGrowth) * sparseGrowth
			case n < pageSize:
				width = min(width, maxSlice/2) * 2
			}
		}
	}
}

// scanner is the state of one ScanSummaries call.
type scanner struct {
	s         *Store
	order     store.Order
	terms, ok string
	// before is the last position yielded (or the scan's Before).
	before *store.Position
	// fold is SummaryScan.Fold; yielded counts the rows yielded so far,
	// folds counting their rows.
	fold, yielded int
	yield         func(store.SummaryRow, error) bool
}

// fail yields err; the scan ends.
func (sc *scanner) fail(err error) bool {
	sc.yield(store.SummaryRow{}, err)
	return false
}

// emit yields row and moves before past it.
func (sc *scanner) emit(row store.SummaryRow) bool {
	if !sc.yield(row, nil) {
		return false
	}
	sc.yielded += max(1, row.Folded)
	pos := row.Pos
	sc.before = &pos
	return true
}

// pages yields the rows of the slice [lo, hi) page by page: n is the
// number of entries yielded; more is false when the scan ends.
func (sc *scanner) pages(ctx context.Context, lo, hi int64) (n int, more bool) {
	s := sc.s
	for {
		rows, err := s.scanPage(ctx, sc.order, lo, hi, sc.before, sc.terms, sc.ok)
		if err == nil {
			err = s.check(ctx)
		}
		if err != nil {
			return n, sc.fail(err)
		}
		blobs, err := s.pageSummaries(ctx, rows)
		if err != nil {
			return n, sc.fail(err)
		}
		for _, r := range rows {
			if err := s.check(ctx); err != nil {
				return n, sc.fail(err)
			}
			row := store.SummaryRow{Pos: store.Position{Sec: r.pos, TraceID: r.id}, TraceID: r.id}
			if r.ok {
				b, found := blobs[placed{r.id, r.place}]
				if !found {
					continue // dropped by retention since the first query
				}
				row.Summary = b
			}
			if !sc.emit(row) {
				return n, false
			}
		}
		n += len(rows)
		if len(rows) < pageSize {
			return n, true
		}
		last := store.Position{Sec: rows[len(rows)-1].pos, TraceID: rows[len(rows)-1].id}
		sc.before = &last
	}
}

// foldSlice yields the slice [lo, hi) with the rows that fail the
// conditions folded by second: a first query counts, per second, the
// traces and those that meet the conditions; a second in which none does
// is one folded row (its rows are consecutive in scan order: a second's
// rows are ordered by trace ID within it). The rows of the other seconds
// are read in batches of about foldBatch rows (or a page of rows that
// meet the conditions), one query (and one for their blobs) for many
// seconds. A fold that would reach past sc.fold rows is not made: those
// seconds are read as pages. n counts the folds
// and the rows that met the conditions (what the next slice's width
// depends on); more is false when the scan ends.
func (sc *scanner) foldSlice(ctx context.Context, lo, hi int64) (n int, more bool) {
	s := sc.s
	secs, err := s.scanSeconds(ctx, sc.order, lo, hi, sc.before, sc.terms, sc.ok)
	if err == nil {
		err = s.check(ctx)
	}
	if err != nil {
		return n, sc.fail(err)
	}
	for i := 0; i < len(secs); {
		// A batch ends at foldBatch rows, or at a page of rows that meet
		// the conditions: their blobs are what a page costs, and a
		// caller whose page fills reads no more.
		j, rows, matched := i, 0, 0
		var read []int64
		for ; j < len(secs) && rows < foldBatch && matched < pageSize; j++ {
			if secs[j].matched > 0 {
				read = append(read, secs[j].sec)
				rows += secs[j].rows
				matched += secs[j].matched
			}
		}
		var got []scanRow
		var blobs map[placed][]byte
		if len(read) > 0 {
			got, err = s.scanRows(ctx, scanSQL(s, sc.order, lo, hi, sc.before, sc.terms, sc.ok, read)+" ORDER BY pos DESC, trace_id DESC")
			if err == nil {
				blobs, err = s.pageSummaries(ctx, got)
			}
			if err != nil {
				return n, sc.fail(err)
			}
		}
		for _, r := range secs[i:j] {
			if r.matched == 0 && sc.yielded+r.rows <= sc.fold {
				row := store.SummaryRow{Pos: store.Position{Sec: r.sec, TraceID: r.last}, TraceID: r.last, Folded: r.rows}
				if !sc.emit(row) {
					return n, false
				}
				n++
				continue
			}
			if r.matched == 0 { // past sc.fold: row by row
				k, more := sc.pages(ctx, r.sec, r.sec+1)
				if n += k; !more {
					return n, false
				}
				continue
			}
			for len(got) > 0 && got[0].pos == r.sec {
				g := got[0]
				got = got[1:]
				row := store.SummaryRow{Pos: store.Position{Sec: g.pos, TraceID: g.id}, TraceID: g.id}
				if g.ok {
					b, found := blobs[placed{g.id, g.place}]
					if !found {
						continue // dropped by retention since the first query
					}
					row.Summary = b
					n++
				}
				if err := s.check(ctx); err != nil {
					return n, sc.fail(err)
				}
				if !sc.emit(row) {
					return n, false
				}
			}
		}
		i = j
	}
	return n, true
}

// secondRow is a row of foldSlice's first query.
type secondRow struct {
	sec     int64
	rows    int
	matched int
	last    xrayid.TraceID
}

// scanSeconds counts, per position second of the slice [lo, hi) after
// before, the traces and those that may meet the conditions, with the
// second's last trace ID in scan order (its lowest), newest second first.
func (s *Store) scanSeconds(ctx context.Context, order store.Order, lo, hi int64, before *store.Position, terms, ok string) ([]secondRow, error) {
	sql := fmt.Sprintf("SELECT pos, count(), sum(ok), min(trace_id) FROM (%s) GROUP BY pos ORDER BY pos DESC",
		scanSQL(s, order, lo, hi, before, terms, ok, nil))
	var out []secondRow
	err := s.query(ctx, "count the scanned summaries by second", sql, func(scan func(...any) error) error {
		var id string
		var r secondRow
		var rows, matched uint64
		if err := scan(&r.sec, &rows, &matched, &id); err != nil {
			return err
		}
		tid, err := toID(id)
		if err != nil {
			return err
		}
		r.rows, r.matched, r.last = int(rows), int(matched), tid
		out = append(out, r)
		return nil
	})
	return out, err
}

// scanPage runs a page's first query over the slice [lo, hi).
func (s *Store) scanPage(ctx context.Context, order store.Order, lo, hi int64, before *store.Position, terms, ok string) ([]scanRow, error) {
	sql := scanSQL(s, order, lo, hi, before, terms, ok, nil) + fmt.Sprintf(" ORDER BY pos DESC, trace_id DESC LIMIT %d", pageSize)
	return s.scanRows(ctx, sql)
}

// scanRows runs a query of scanSQL's rows.
func (s *Store) scanRows(ctx context.Context, sql string) ([]scanRow, error) {
	var rows []scanRow
	err := s.query(ctx, "scan summaries", sql, func(scan func(...any) error) error {
		var id string
		var r scanRow
		var ok uint8
		if err := scan(&id, &r.pos, &r.place, &ok); err != nil {
			return err
		}
		tid, err := toID(id)
		if err != nil {
			return err
		}
		r.id, r.ok = tid, ok != 0
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// placed is a trace at one placement.
type placed struct {
	id    xrayid.TraceID
	place int64
}

// pageSummaries reads the newest summary of the rows that met the scan's
// conditions, by primary key.
func (s *Store) pageSummaries(ctx context.Context, rows []scanRow) (map[placed][]byte, error) {
	var ids []xrayid.TraceID
	var places []int64
	for _, r := range rows {
		if r.ok {
			ids = append(ids, r.id)
			places = append(places, r.place)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(places)
	places = slices.Compact(places)
	var pl strings.Builder
	for i, p := range places {
		if i > 0 {
			pl.WriteByte(',')
		}
		fmt.Fprintf(&pl, "%d", p)
	}
	out := make(map[placed][]byte, len(ids))
	sql := fmt.Sprintf("SELECT trace_id, place, argMax(summary, seq) FROM summaries WHERE place IN (%s) AND trace_id IN %s GROUP BY trace_id, place",
		pl.String(), idList(ids))
	err := s.query(ctx, "read the summaries of a page", sql, func(scan func(...any) error) error {
		var id, sum string
		var place int64
		if err := scan(&id, &place, &sum); err != nil {
			return err
		}
		tid, err := toID(id)
		if err != nil {
			return err
		}
		out[placed{tid, place}] = []byte(sum)
		return nil
	})
	return out, err
}

// scanSQL selects the traces of the slice [lo, hi) after before (and in
// the seconds secs, if any), one row per trace: trace_id, pos (its
// position second), place and ok (whether its newest revision may meet
// the conditions).
func scanSQL(s *Store, order store.Order, lo, hi int64, before *store.Position, terms, ok string, secs []int64) string {
	var cond, in string
	if before != nil {
		bs := clampSec(before.Sec)
		cond = fmt.Sprintf(" AND (pos < %d OR pos = %d AND trace_id < unhex('%x'))", bs, bs, before.TraceID[:])
	}
	if len(secs) > 0 {
		var b strings.Builder
		for i, sec := range secs {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", sec)
		}
		in = b.String()
		if order == store.ByEnd {
			cond += " AND pos IN (" + in + ")"
		}
	}
	if order == store.ByStart {
		var restrict string
		if in != "" {
			restrict = " AND place IN (" + in + ")"
		}
		if terms != "" {
			restrict += fmt.Sprintf(" AND trace_id IN (SELECT trace_id FROM %s WHERE term IN (%s) AND place >= %d AND place < %d)", s.local("terms"), terms, lo, hi)
		}
		return fmt.Sprintf("SELECT trace_id, place AS pos, place, %s AS ok FROM summaries WHERE place >= %d AND place < %d%s"+
			" GROUP BY trace_id, place HAVING 1%s", ok, lo, hi, restrict, cond)
	}
	// Only traces with a revision ending in the slice can qualify (the
	// newest is one of them): summary_ends names them and their places, a
	// range of the primary key.
	ends := fmt.Sprintf("FROM %s WHERE end_sec >= %d AND end_sec < %d", s.local("summary_ends"), lo, hi)
	return fmt.Sprintf("SELECT trace_id, argMax(end_sec, seq) AS pos, argMax(place, seq), %s AS ok FROM summaries"+
		" WHERE place IN (SELECT place %s) AND trace_id IN (SELECT trace_id %s)"+
		" GROUP BY trace_id HAVING pos >= %d AND pos < %d%s", ok, ends, ends, lo, hi, cond)
}
