package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
)

// A log value is a codec byte, then the line's strings, each a uvarint
// length and its bytes: Function, LogGroup, LogStream, RequestID, TraceID,
// Stream, Message. The time is in the key. Each index holds the whole
// line, so that a lookup is one range read (see doc.go).
const logCodec byte = 1

// logFields is the number of strings in a log value.
const logFields = 7

// maxLogSize bounds the strings of one log line, together.
const maxLogSize = 8 << 20

// lineNanos returns t in Unix nanoseconds, clamped to the int64 range
// (the years 1678 to 2262).
func lineNanos(t time.Time) int64 {
	switch sec := t.Unix(); {
	case sec < math.MinInt64/int64(time.Second):
		return math.MinInt64
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func logSize(r *logs.Record) int {
	return len(r.Function) + len(r.LogGroup) + len(r.LogStream) + len(r.RequestID) + len(r.TraceID) + len(r.Stream) + len(r.Message)
}

// checkLogs validates a batch's log lines.
func checkLogs(recs []logs.Record) error {
	for i := range recs {
		if n := logSize(&recs[i]); n > maxLogSize {
			r := &recs[i]
			return fmt.Errorf("log line %d (function %q, request %q, time %s): %d bytes exceeds the %d-byte limit",
				i, r.Function, r.RequestID, r.Time.Format(time.RFC3339Nano), n, maxLogSize)
		}
	}
	return nil
}

func appendLog(dst []byte, r *logs.Record) []byte {
	dst = append(dst, logCodec)
	for _, f := range [logFields]string{r.Function, r.LogGroup, r.LogStream, r.RequestID, r.TraceID, string(r.Stream), r.Message} {
		dst = appendString(dst, f)
	}
	return dst
}

// decodeLog decodes a log value of a line at ns. Its strings share one
// allocation.
func decodeLog(v []byte, ns int64) (logs.Record, error) {
	if len(v) == 0 || v[0] != logCodec {
		if len(v) == 0 {
			return logs.Record{}, fmt.Errorf("%w: empty log value", errCorrupt)
		}
		return logs.Record{}, fmt.Errorf("%w: unknown log codec %d (written by a newer version?)", errCorrupt, v[0])
	}
	var ends [logFields][2]int
	off := 1
	for i := range ends {
		n, w := binary.Uvarint(v[off:])
		if w <= 0 || n > uint64(len(v)-off-w) {
			return logs.Record{}, fmt.Errorf("%w: log value field %d", errCorrupt, i)
		}
		off += w
		ends[i] = [2]int{off - 1, off - 1 + int(n)} // offsets in v[1:]
		off += int(n)
	}
	if off != len(v) {
		return logs.Record{}, fmt.Errorf("%w: %d bytes after the log value", errCorrupt, len(v)-off)
	}
	all := string(v[1:])
	f := func(i int) string { return all[ends[i][0]:ends[i][1]] }
	return logs.Record{
		Time:      time.Unix(0, ns).UTC(),
		Function:  f(0),
		LogGroup:  f(1),
		LogStream: f(2),
		RequestID: f(3),
		TraceID:   f(4),
		Stream:    logs.Stream(f(5)),
		Message:   f(6),
	}, nil
}

// putLogs adds a batch's log lines, line i with sequence number seq+i: one
// key in each index the line has an ID for. A line with none is dropped:
// no query could find it.
func (p *writePlan) putLogs(batch *pebble.Batch, recs []logs.Record, seq uint64) error {
	for i := range recs {
		r := &recs[i]
		ns := lineNanos(r.Time)
		p.val = appendLog(p.val[:0], r)
		for _, ix := range [...]struct {
			kind byte
			id   string
		}{{logByTrace, r.TraceID}, {logByRequest, r.RequestID}, {logByFunction, r.Function}} {
			if ix.id == "" {
				continue
			}
			p.key = logKey(p.key[:0], ix.kind, ix.id, ns, seq+uint64(i))
			if err := batch.Set(p.key, p.val, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// logIndex returns the index and ID a query looks up.
func logIndex(q *store.LogQuery) (kind byte, id string, err error) {
	n := 0
	for _, ix := range [...]struct {
		kind byte
		id   string
	}{{logByTrace, q.TraceID}, {logByRequest, q.RequestID}, {logByFunction, q.Function}} {
		if ix.id != "" {
			kind, id = ix.kind, ix.id
			n++
		}
	}
	if n != 1 {
		return 0, "", fmt.Errorf("log query with trace %q, request %q, function %q: want exactly one of them", q.TraceID, q.RequestID, q.Function)
	}
	return kind, id, nil
}

// logWindow is a log query's time window in Unix nanoseconds: [from, to),
// or from on if !bounded.
type logWindow struct {
	from, to int64
	bounded  bool
}

func (w logWindow) String() string {
	if !w.bounded {
		return fmt.Sprintf("[%d, ∞)", w.from)
	}
	return fmt.Sprintf("[%d, %d)", w.from, w.to)
}

// Logs implements store.LogReader. It reads the query's index day by day,
// from the day of From (or the first day stored) to the day of To (or the
// last), seeking to the ID in each day that holds lines (the key after the
// ID's run names the next such day): one range read per day with lines of
// the ID, one or two seeks per day with lines at all.
func (s *Store) Logs(ctx context.Context, q store.LogQuery) iter.Seq2[logs.Record, error] {
	return func(yield func(logs.Record, error) bool) {
		kind, id, err := logIndex(&q)
		if err == nil && q.Limit < 0 {
			err = fmt.Errorf("log query: negative limit %d", q.Limit)
		}
		if err != nil {
			yield(logs.Record{}, err)
			return
		}
		w := logWindow{from: math.MinInt64, to: math.MaxInt64}
		if !q.From.IsZero() {
			w.from = lineNanos(q.From)
		}
		if !q.To.IsZero() {
			w.to, w.bounded = lineNanos(q.To), true
		}
		var o *pebble.IterOptions
		first, last := logDay(w.from), logDay(w.to)
		if w.bounded {
			last = logDay(w.to - 1)
		}
		if !w.bounded || w.from < w.to {
			o = &pebble.IterOptions{LowerBound: logDayKey(kind, first), UpperBound: logDayKey(kind, last+1)}
		}
		err = s.iterate(ctx, o, func(it *pebble.Iterator, step func() error) error {
			if it == nil {
				return nil
			}
			sc := logScanner{it: it, step: step, yield: yield, kind: kind, id: id, w: w, limit: q.Limit}
			return sc.scan(first, last)
		})
		switch {
		case err == nil || errors.Is(err, errStop):
		case errors.Is(err, ctx.Err()) || errors.Is(err, store.ErrClosed):
			yield(logs.Record{}, err)
		default:
			yield(logs.Record{}, s.readErr(fmt.Errorf("log lines of %s %q in %s: %w", logKindName(kind), id, w, err)))
		}
	}
}

func logKindName(kind byte) string {
	switch kind {
	case logByTrace:
		return "trace"
	case logByRequest:
		return "request"
	}
	return "function"
}

// logScanner runs one Logs call.
type logScanner struct {
	it     *pebble.Iterator
	step   func() error
	yield  func(logs.Record, error) bool
	kind   byte
	id     string
	w      logWindow
	limit  int
	n      int
	prefix []byte
	seek   []byte
}

// scan yields the lines of days [first, last].
func (sc *logScanner) scan(first, last int32) error {
	it := sc.it
	for d := first; d <= last; {
		if err := sc.step(); err != nil {
			return err
		}
		sc.prefix = logPrefix(sc.prefix[:0], sc.kind, d, sc.id)
		sc.seek = append(sc.seek[:0], sc.prefix...)
		if d == first {
			sc.seek = appendInt64(sc.seek, sc.w.from)
		}
		valid := it.SeekGE(sc.seek)
		for ; valid && bytes.HasPrefix(it.Key(), sc.prefix); valid = it.Next() {
			done, err := sc.line(d)
			if err != nil || done {
				return err
			}
		}
		if !valid {
			return it.Error()
		}
		k := it.Key()
		if len(k) < logDayLen {
			return fmt.Errorf("%w: log key %x", errCorrupt, k)
		}
		next := readInt32(k[2:logDayLen])
		if next <= d {
			next = d + 1
		}
		d = next
	}
	return nil
}

// line yields the line the iterator is on, a key of day d under the
// scan's prefix; done is set when the scan is complete.
func (sc *logScanner) line(d int32) (done bool, err error) {
	k := sc.it.Key()
	if len(k) != len(sc.prefix)+logSuffixLen {
		return false, fmt.Errorf("%w: log key %x", errCorrupt, k)
	}
	ns := readInt64(k[len(sc.prefix):])
	if logDay(ns) != d {
		return false, fmt.Errorf("%w: log key %x: time %d outside its day %d", errCorrupt, k, ns, d)
	}
	if sc.w.bounded && ns >= sc.w.to {
		return true, nil
	}
	v, err := sc.it.ValueAndErr()
	if err != nil {
		return false, fmt.Errorf("log key %x: %w", k, err)
	}
	r, err := decodeLog(v, ns)
	if err != nil {
		return false, fmt.Errorf("log key %x: %w", k, err)
	}
	if !sc.yield(r, nil) {
		return false, errStop
	}
	if sc.n++; sc.limit > 0 && sc.n >= sc.limit {
		return true, nil
	}
	return false, sc.step()
}
