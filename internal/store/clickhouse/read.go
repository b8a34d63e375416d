package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// idChunk bounds the IDs of one lookup query.
const idChunk = 1000

// pageSize is the rows of one page of a summary scan: scans stream page by
// page, each page resumed after the last row of the previous one (scan.go).
const pageSize = 500

// query runs q and calls row for every row (rows.Scan is its argument).
func (s *Store) query(ctx context.Context, what, q string, row func(scan func(...any) error) error) error {
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return s.wrap(ctx, what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return s.wrap(ctx, what, err)
		}
	}
	return s.wrap(ctx, what, rows.Err())
}

// uniqueIDs drops repeated IDs, keeping the first.
func uniqueIDs(ids []xrayid.TraceID) []xrayid.TraceID {
	seen := make(map[xrayid.TraceID]bool, len(ids))
	out := make([]xrayid.TraceID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Traces reads the records of ids by their primary key (trace_id).
func (s *Store) Traces(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[*store.Trace, error] {
	return func(yield func(*store.Trace, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(nil, err)
			return
		}
		for chunk := range slices.Chunk(uniqueIDs(ids), idChunk) {
			got := map[xrayid.TraceID]*store.Trace{}
			var rs recordScanner
			err := s.query(ctx, "read traces", "SELECT "+recordSelect+" FROM records WHERE trace_id IN "+idList(chunk)+" ORDER BY trace_id, received, seq",
				func(scan func(...any) error) error {
					r, err := rs.scan(scan)
					if err != nil {
						return err
					}
					tr := got[r.TraceID]
					if tr == nil {
						tr = &store.Trace{ID: r.TraceID}
						got[r.TraceID] = tr
					}
					tr.Records = append(tr.Records, r)
					return nil
				})
			if err != nil {
				yield(nil, err)
				return
			}
			for _, id := range chunk {
				tr := got[id]
				if tr == nil {
					continue
				}
				if err := s.check(ctx); err != nil {
					yield(nil, err)
					return
				}
				if !yield(tr, nil) {
					return
				}
			}
		}
	}
}

// Summaries reads the newest revision of each trace's summary.
func (s *Store) Summaries(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[store.SummaryRow, error] {
	return func(yield func(store.SummaryRow, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.SummaryRow{}, err)
			return
		}
		for chunk := range slices.Chunk(uniqueIDs(ids), idChunk) {
			got := map[xrayid.TraceID]store.SummaryRow{}
			// summaries is ordered by (place, trace_id): the places to
			// read are the IDs' epochs (plausible ones place a trace
			// there), and placements has the others.
			list := idList(chunk)
			sql := fmt.Sprintf("SELECT trace_id, argMax(place, seq), argMax(summary, seq) FROM summaries WHERE trace_id IN %s"+
				" AND (place IN (%s) OR place IN (SELECT place FROM %s WHERE trace_id IN %s)) GROUP BY trace_id",
				list, epochList(chunk), s.local("placements"), list)
			err := s.query(ctx, "read summaries", sql,
				func(scan func(...any) error) error {
					var id, sum string
					var place int64
					if err := scan(&id, &place, &sum); err != nil {
						return err
					}
					tid, err := toID(id)
					if err != nil {
						return err
					}
					got[tid] = store.SummaryRow{Pos: store.Position{Sec: place, TraceID: tid}, TraceID: tid, Summary: []byte(sum)}
					return nil
				})
			if err != nil {
				yield(store.SummaryRow{}, err)
				return
			}
			for _, id := range chunk {
				row, ok := got[id]
				if !ok {
					continue
				}
				if err := s.check(ctx); err != nil {
					yield(store.SummaryRow{}, err)
					return
				}
				if !yield(row, nil) {
					return
				}
			}
		}
	}
}

// epochList is an IN list of the IDs' epochs.
func epochList(ids []xrayid.TraceID) string {
	es := make([]int64, len(ids))
	for i, id := range ids {
		es[i] = int64(id.Epoch())
	}
	slices.Sort(es)
	var b strings.Builder
	for i, e := range slices.Compact(es) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", e)
	}
	return b.String()
}

// CountTerm counts distinct traces under term placed in [from, to).
func (s *Store) CountTerm(ctx context.Context, term store.Term, from, to int64, limit int) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	from, to = clampSec(from), clampSec(to)
	if limit <= 0 || from >= to {
		return 0, nil
	}
	var n uint64
	sql := fmt.Sprintf("SELECT count() FROM (SELECT DISTINCT trace_id FROM terms WHERE term = %d AND place >= %d AND place < %d LIMIT %d)", uint64(term), from, to, limit)
	if err := s.conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		return 0, s.wrap(ctx, "count term", err)
	}
	return int(n), nil
}

// EstimateTerms implements store.TermEstimator: the distinct traces under
// any of terms placed in [from, to), up to limit, in one query (the
// planner's fallback asks CountTerm once per term: one round trip each,
// 21 for a response-time range).
func (s *Store) EstimateTerms(ctx context.Context, terms []store.Term, from, to int64, limit int) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	from, to = clampSec(from), clampSec(to)
	if limit <= 0 || from >= to || len(terms) == 0 {
		return 0, nil
	}
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", uint64(t))
	}
	var n uint64
	sql := fmt.Sprintf("SELECT count() FROM (SELECT DISTINCT trace_id FROM terms WHERE term IN (%s) AND place >= %d AND place < %d LIMIT %d)", b.String(), from, to, limit)
	if err := s.conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		return 0, s.wrap(ctx, fmt.Sprintf("estimate %d terms", len(terms)), err)
	}
	return int(n), nil
}

var _ store.TermEstimator = (*Store)(nil)

// GraphCounters sums the counters of group per (minute, key, index) at
// read time: parts not merged yet hold several rows of one counter.
func (s *Store) GraphCounters(ctx context.Context, group string, fromMinute, toMinute int64) iter.Seq2[store.GraphRow, error] {
	return func(yield func(store.GraphRow, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.GraphRow{}, err)
			return
		}
		if fromMinute >= toMinute {
			return
		}
		var rows []store.GraphRow
		sql := fmt.Sprintf("SELECT minute, gkey, idx, sum(value) AS v FROM graph WHERE grp = %s AND minute >= %s AND minute < %s GROUP BY minute, gkey, idx HAVING v != 0 ORDER BY minute, gkey, idx",
			quote(group), i64(fromMinute), i64(toMinute))
		err := s.query(ctx, "read graph counters", sql, func(scan func(...any) error) error {
			var minute int64
			var key string
			var idx uint32
			var v float64
			if err := scan(&minute, &key, &idx, &v); err != nil {
				return err
			}
			if n := len(rows); n == 0 || rows[n-1].Minute != minute || rows[n-1].Key != key {
				rows = append(rows, store.GraphRow{Minute: minute, Key: key})
			}
			r := &rows[len(rows)-1]
			r.Values = append(r.Values, store.Counter{Index: idx, Value: v})
			return nil
		})
		if err != nil {
			yield(store.GraphRow{}, err)
			return
		}
		for _, r := range rows {
			if err := s.check(ctx); err != nil {
				yield(store.GraphRow{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// lineNanos returns t in Unix nanoseconds, clamped to the int64 range.
func lineNanos(t time.Time) int64 {
	switch sec := t.Unix(); {
	case sec < math.MinInt64/int64(time.Second):
		return math.MinInt64
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Logs reads log lines by one of their IDs, oldest first.
func (s *Store) Logs(ctx context.Context, q store.LogQuery) iter.Seq2[logs.Record, error] {
	return func(yield func(logs.Record, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(logs.Record{}, err)
			return
		}
		var col, val string
		n := 0
		for _, c := range []struct{ col, val string }{{"trace_id", q.TraceID}, {"request_id", q.RequestID}, {"function", q.Function}} {
			if c.val != "" {
				col, val = c.col, c.val
				n++
			}
		}
		if n != 1 {
			yield(logs.Record{}, errors.New("clickhouse: a log query names exactly one of trace ID, request ID and function"))
			return
		}
		if q.Limit < 0 {
			yield(logs.Record{}, fmt.Errorf("clickhouse: negative log limit %d", q.Limit))
			return
		}
		from, to := int64(math.MinInt64), int64(math.MaxInt64)
		if !q.From.IsZero() {
			from = lineNanos(q.From)
		}
		if !q.To.IsZero() {
			to = lineNanos(q.To)
		}
		if from >= to {
			return
		}
		sql := fmt.Sprintf("SELECT time, function, log_group, log_stream, request_id, trace_id, stream, message FROM logs WHERE %s = %s AND time >= %s AND time < %s ORDER BY time, seq",
			col, quote(val), i64(from), i64(to))
		if q.Limit > 0 {
			sql += fmt.Sprintf(" LIMIT %d", q.Limit)
		}
		var out []logs.Record
		err := s.query(ctx, "read logs", sql, func(scan func(...any) error) error {
			var r logs.Record
			var ns int64
			var stream string
			if err := scan(&ns, &r.Function, &r.LogGroup, &r.LogStream, &r.RequestID, &r.TraceID, &stream, &r.Message); err != nil {
				return err
			}
			r.Time, r.Stream = time.Unix(0, ns).UTC(), logs.Stream(stream)
			out = append(out, r)
			return nil
		})
		if err != nil {
			yield(logs.Record{}, err)
			return
		}
		for _, r := range out {
			if err := s.check(ctx); err != nil {
				yield(logs.Record{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// GetMeta returns the newest version of key unless it is a deletion.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	var value []byte
	found := false
	err := s.query(ctx, "read metadata", "SELECT argMax(value, version), argMax(deleted, version) AS d FROM meta WHERE mkey = "+quote(key)+" GROUP BY mkey HAVING d = 0",
		func(scan func(...any) error) error {
			var v string
			var d uint8
			if err := scan(&v, &d); err != nil {
				return err
			}
			value, found = []byte(v), true
			return nil
		})
	return value, found, err
}

// PutMeta writes a new version of key.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	return s.putMeta(ctx, key, value, 0)
}

// DeleteMeta writes a deletion version of key.
func (s *Store) DeleteMeta(ctx context.Context, key string) error {
	return s.putMeta(ctx, key, nil, 1)
}

func (s *Store) putMeta(ctx context.Context, key string, value []byte, deleted uint8) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	seq := s.nextSeq(1)
	return s.insert(ctx, "meta", 1, func(app func(...any) error) error {
		return app(key, seq, deleted, string(value))
	})
}

// ListMeta lists the live keys with prefix in key order.
func (s *Store) ListMeta(ctx context.Context, prefix string) iter.Seq2[store.MetaEntry, error] {
	return func(yield func(store.MetaEntry, error) bool) {
		if err := s.check(ctx); err != nil {
			yield(store.MetaEntry{}, err)
			return
		}
		var out []store.MetaEntry
		sql := fmt.Sprintf("SELECT mkey, argMax(value, version), argMax(deleted, version) AS d FROM meta WHERE substring(mkey, 1, %d) = %s GROUP BY mkey HAVING d = 0 ORDER BY mkey",
			len(prefix), quote(prefix))
		if prefix == "" {
			sql = "SELECT mkey, argMax(value, version), argMax(deleted, version) AS d FROM meta GROUP BY mkey HAVING d = 0 ORDER BY mkey"
		}
		err := s.query(ctx, "list metadata", sql, func(scan func(...any) error) error {
			var k, v string
			var d uint8
			if err := scan(&k, &v, &d); err != nil {
				return err
			}
			out = append(out, store.MetaEntry{Key: k, Value: []byte(v)})
			return nil
		})
		if err != nil {
			yield(store.MetaEntry{}, err)
			return
		}
		for _, e := range out {
			if err := s.check(ctx); err != nil {
				yield(store.MetaEntry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}
