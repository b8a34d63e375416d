package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"iter"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
)

func logLine(fn, req, trace string, at time.Time, msg string) logs.Record {
	return logs.Record{Time: at, Function: fn, LogGroup: "/aws/lambda/" + fn, LogStream: "2026/11/25/[$LATEST]0123",
		RequestID: req, TraceID: trace, Stream: logs.Stdout, Message: msg}
}

// messages runs a log query and returns the lines' messages, or its error.
func messages(s *Store, q store.LogQuery) ([]string, error) {
	var out []string
	for r, err := range s.Logs(context.Background(), q) {
		if err != nil {
			return out, err
		}
		out = append(out, r.Message)
	}
	return out, nil
}

// TestLogKeys checks the keys log lines make: one per index the line has an
// ID for, and the sequence mark.
func TestLogKeys(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{
		logLine("f", "r", "1-abc-def", now, "all three"),
		logLine("f", "r", "", now, "no trace"),
		logLine("f", "", "", now, "init"),
		logLine("", "", "", now, "nothing"),
	}})
	n := keysByPrefix(t, s)
	if n[prefixLog] != 6 {
		t.Fatalf("%d log keys, want 6", n[prefixLog])
	}
	v, closer, err := s.db.Get(metaSeqKey)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if got := binary.BigEndian.Uint64(v); got != s.lastSeq {
		t.Fatalf("sequence mark %d, last sequence %d", got, s.lastSeq)
	}
}

// TestLogSeqClockStep writes lines of one time before and after a reopen
// with the clock gone back: the later ones still come after.
func TestLogSeqClockStep(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	at := time.Now()
	mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{logLine("f", "", "", at, "1")}})
	s.mu.Lock()
	s.lastSeq += uint64(time.Hour) // as if the clock had gone back an hour
	s.mu.Unlock()
	mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{logLine("f", "", "", at, "2")}})
	s = reopenTest(t, s)
	mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{logLine("f", "", "", at, "3")}})
	if got, err := messages(s, store.LogQuery{Function: "f"}); err != nil || !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("lines of one time across a reopen: %v %v, want [1 2 3]", got, err)
	}
}

// TestLogRetentionRanges checks that DropBefore drops log lines by the UTC
// day: those of the cutoff's day stay.
func TestLogRetentionRanges(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	day := time.Now().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	cutoff := day.Add(6 * time.Hour)
	mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{
		logLine("f", "r", "t", day.Add(-time.Nanosecond), "yesterday"),
		logLine("f", "r", "t", day, "midnight"),
		logLine("f", "r", "t", cutoff, "cutoff"),
	}})
	if err := s.DropBefore(context.Background(), cutoff); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.LogQuery{{Function: "f"}, {RequestID: "r"}, {TraceID: "t"}} {
		if got, err := messages(s, q); err != nil || !slices.Equal(got, []string{"midnight", "cutoff"}) {
			t.Fatalf("Logs(%+v) after DropBefore: %v %v, want [midnight cutoff]", q, got, err)
		}
	}
	if n := keysByPrefix(t, s); n[prefixLog] != 6 {
		t.Fatalf("%d log keys after DropBefore, want 6", n[prefixLog])
	}
}

// TestLogTimes checks times at the ends of the int64 nanosecond range:
// clamped, stored, found.
func TestLogTimes(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	first, last := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{
		logLine("f", "", "", time.Time{}, "year 1"),
		logLine("f", "", "", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "year 3000"),
		logLine("f", "", "", time.Unix(-1, 0), "1969"),
		logLine("f", "", "", time.Unix(0, 0), "1970"),
	}})
	var got []logs.Record
	for r, err := range s.Logs(context.Background(), store.LogQuery{Function: "f"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []struct {
		msg string
		at  time.Time
	}{{"year 1", first}, {"1969", time.Unix(-1, 0)}, {"1970", time.Unix(0, 0)}, {"year 3000", last}}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Message != w.msg || !got[i].Time.Equal(w.at) || got[i].Time.Location() != time.UTC {
			t.Fatalf("line %d: %q at %s, want %q at %s UTC", i, got[i].Message, got[i].Time, w.msg, w.at.UTC())
		}
	}
	f := func(from, to time.Time, want ...string) {
		t.Helper()
		if got, err := messages(s, store.LogQuery{Function: "f", From: from, To: to}); err != nil || !slices.Equal(got, want) {
			t.Fatalf("[%s, %s): %v %v, want %v", from, to, got, err, want)
		}
	}
	f(time.Unix(-1, 0), time.Unix(0, 1), "1969", "1970")
	f(time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), time.Unix(-1, 0), "year 1")
	f(time.Unix(0, 1), time.Time{}, "year 3000")
	f(time.Unix(0, 1), time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)) // To clamps too, and is exclusive
}

// TestLogLimits checks input validation.
func TestLogLimits(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	big := logLine("f", "r", "", time.Now(), strings.Repeat("x", maxLogSize))
	err := s.Write(context.Background(), &store.Batch{Logs: []logs.Record{logLine("f", "r", "", time.Now(), "ok"), big}})
	if err == nil || !strings.Contains(err.Error(), `log line 1 (function "f", request "r"`) {
		t.Fatalf("an oversized line: %v", err)
	}
	if got, err := messages(s, store.LogQuery{Function: "f"}); err != nil || len(got) != 0 {
		t.Fatalf("a refused batch left lines: %v %v", got, err)
	}
}

// TestCorruptLogs damages log keys and values: reads return errCorrupt.
func TestCorruptLogs(t *testing.T) {
	now := time.Now()
	ns := now.UnixNano()
	f := func(name string, k, v []byte) {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, Options{NoSync: true})
			mustWriteBatch(t, s, &store.Batch{Logs: []logs.Record{logLine("f", "r", "t", now, "x")}})
			rawSet(t, s, k, v)
			if _, err := messages(s, store.LogQuery{Function: "f"}); !errors.Is(err, errCorrupt) {
				t.Fatalf("read after damage: %v, want errCorrupt", err)
			}
		})
	}
	key := logKey(nil, logByFunction, "f", ns, 1)
	good := appendLog(nil, &logs.Record{Function: "f"})
	f("value garbage", key, []byte("garbage"))
	f("value empty", key, nil)
	f("value newer codec", key, []byte{2})
	f("value truncated", key, good[:len(good)-1])
	f("value trailing bytes", key, append(good, 0))
	f("value field too long", key, []byte{logCodec, 0x7f, 'x'})
	f("key short", append(logPrefix(nil, logByFunction, logDay(ns), "f"), 1, 2, 3), good)
	wrongDay := appendInt64(logPrefix(nil, logByFunction, logDay(ns), "f"), ns+nsPerDay)
	f("key time in another day", binary.BigEndian.AppendUint64(wrongDay, 1), good)
	f("day key short", []byte{prefixLog, logByFunction, 0x80}, good)

	// A damaged sequence mark fails Open.
	s := openTest(t, Options{NoSync: true})
	rawSet(t, s, metaSeqKey, []byte{1, 2, 3})
	closeStore(t, s)
	if _, err := Open(s.dir, s.opts); !errors.Is(err, errCorrupt) {
		t.Fatalf("Open with a damaged sequence mark: %v, want errCorrupt", err)
	}
}

// TestMetaKeys checks that MetaStore keys live apart from the store's own.
func TestMetaKeys(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	for _, k := range []string{"format", "seq", "", "/"} {
		if err := s.PutMeta(ctx, k, []byte("user value")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutMeta(ctx, "big", make([]byte, maxMetaSize+1)); err == nil || !strings.Contains(err.Error(), `"big"`) {
		t.Fatalf("an oversized value: %v", err)
	}
	s = reopenTest(t, s) // the format version is intact
	n := 0
	for e, err := range s.ListMeta(ctx, "") {
		if err != nil || string(e.Value) != "user value" {
			t.Fatalf("ListMeta: %q %v", e, err)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d values listed, want 4", n)
	}
}

// TestFormatUpgrade2 opens a version 2 store: it gains graph counters,
// log lines and metadata in place.
func TestFormatUpgrade2(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	id := traceAt(now, 1)
	mustWriteBatch(t, s, &store.Batch{Records: []store.Record{rec(id, 1, now)}, Summaries: []store.SummaryRecord{sumRec(id, now.Unix(), 0, "s", 1)}})
	rawSet(t, s, metaFormatKey, binary.AppendUvarint(nil, 2))
	s = reopenTest(t, s)
	v, closer, err := s.db.Get(metaFormatKey)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := binary.Uvarint(v)
	closer.Close()
	if got != formatVersion {
		t.Fatalf("format version %d after upgrade, want %d", got, formatVersion)
	}
	M := now.Unix() / 60
	mustWriteBatch(t, s, &store.Batch{
		Graph: []store.GraphDelta{{Minute: M, Key: "k", Values: counters(0, 1)}},
		Logs:  []logs.Record{logLine("f", "", "", now, "x")},
	})
	if ids, _, err := scanIDs(s, everything(store.ByStart)); err != nil || len(ids) != 1 {
		t.Fatalf("scan after upgrade: %v %v", ids, err)
	}
	if got, err := messages(s, store.LogQuery{Function: "f"}); err != nil || len(got) != 1 {
		t.Fatalf("logs after upgrade: %v %v", got, err)
	}
}

// streams are the store's streaming reads other than summaries, reduced
// to their errors.
func streams(s *Store) map[string]func() iter.Seq[error] {
	errs := func(next func(yield func(error) bool)) iter.Seq[error] { return next }
	return map[string]func() iter.Seq[error]{
		"GraphCounters": func() iter.Seq[error] {
			return errs(func(yield func(error) bool) {
				for _, err := range s.GraphCounters(context.Background(), "", math.MinInt64, math.MaxInt64) {
					if !yield(err) {
						return
					}
				}
			})
		},
		"Logs": func() iter.Seq[error] {
			return errs(func(yield func(error) bool) {
				for _, err := range s.Logs(context.Background(), store.LogQuery{Function: "f"}) {
					if !yield(err) {
						return
					}
				}
			})
		},
		"ListMeta": func() iter.Seq[error] {
			return errs(func(yield func(error) bool) {
				for _, err := range s.ListMeta(context.Background(), "") {
					if !yield(err) {
						return
					}
				}
			})
		},
	}
}

func writeStreams(t *testing.T, s *Store) {
	now := time.Now()
	b := &store.Batch{}
	for i := range 5 {
		b.Graph = append(b.Graph, store.GraphDelta{Minute: now.Unix() / 60, Key: string(rune('a' + i)), Values: counters(0, 1)})
		b.Logs = append(b.Logs, logLine("f", "", "", now.Add(time.Duration(i)), "x"))
		if err := s.PutMeta(context.Background(), string(rune('a'+i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	mustWriteBatch(t, s, b)
}

// TestCloseDuringStreams closes the store while a read holds it: Close
// waits, and the read's next step fails with ErrClosed.
func TestCloseDuringStreams(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	writeStreams(t, s)
	closeStore(t, s)
	for _, name := range []string{"GraphCounters", "Logs", "ListMeta"} {
		var err error
		if s, err = Open(s.dir, s.opts); err != nil {
			t.Fatal(err)
		}
		read := streams(s)[name]
		closed := make(chan error, 1)
		rows := 0
		var last error
		for err := range read() {
			if err != nil {
				last = err
				continue
			}
			if rows++; rows == 1 {
				go func() { closed <- s.Close() }()
				for !s.closing.Load() {
					time.Sleep(time.Millisecond)
				}
			}
		}
		if rows != 1 || !errors.Is(last, store.ErrClosed) {
			t.Fatalf("%s closed after its first row: %d rows, last error %v; want 1 row, ErrClosed", name, rows, last)
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close during %s: %v", name, err)
		}
	}
}

// TestStreamBodyPanics: a panic in the loop body leaves no iterator open.
func TestStreamBodyPanics(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	writeStreams(t, s)
	for name, read := range streams(s) {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("%s: no panic", name)
				}
			}()
			for range read() {
				panic("in the loop body")
			}
		}()
	}
	closeStore(t, s) // Pebble fails Close on leaked iterators
}
