package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
)

// logModel is what the suite expects of the log lines: every line, in
// write order.
type logModel struct {
	mu    sync.Mutex
	lines []logs.Record
}

func (m *logModel) add(recs []logs.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, recs...)
}

func (m *logModel) dropBefore(cutoff time.Time) {
	m.lines = slices.DeleteFunc(m.lines, func(r logs.Record) bool { return r.Time.Before(cutoff) })
}

// expect returns the lines q must yield.
func (m *logModel) expect(q store.LogQuery) []logs.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []logs.Record
	for _, r := range m.lines {
		switch {
		case q.TraceID != "" && r.TraceID != q.TraceID,
			q.RequestID != "" && r.RequestID != q.RequestID,
			q.Function != "" && r.Function != q.Function,
			!q.From.IsZero() && r.Time.Before(q.From),
			!q.To.IsZero() && !r.Time.Before(q.To):
			continue
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b logs.Record) int { return a.Time.Compare(b.Time) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// readLogs runs a query and fails the test on error.
func readLogs(t *testing.T, s store.Store, q store.LogQuery) []logs.Record {
	t.Helper()
	var out []logs.Record
	for r, err := range s.Logs(context.Background(), q) {
		if err != nil {
			t.Fatalf("Logs(%s): %v", describeLogQuery(q), err)
		}
		out = append(out, r)
	}
	return out
}

func describeLogQuery(q store.LogQuery) string {
	var b strings.Builder
	switch {
	case q.TraceID != "":
		fmt.Fprintf(&b, "trace %q", q.TraceID)
	case q.RequestID != "":
		fmt.Fprintf(&b, "request %q", q.RequestID)
	default:
		fmt.Fprintf(&b, "function %q", q.Function)
	}
	f := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	fmt.Fprintf(&b, " [%s, %s) limit %d", f(q.From), f(q.To), q.Limit)
	return b.String()
}

func sameLine(a, b logs.Record) bool {
	return a.Time.Equal(b.Time) && a.Function == b.Function && a.LogGroup == b.LogGroup && a.LogStream == b.LogStream &&
		a.RequestID == b.RequestID && a.TraceID == b.TraceID && a.Stream == b.Stream && a.Message == b.Message
}

func describeLines(rs []logs.Record) string {
	var b strings.Builder
	for i, r := range rs {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... (%d lines)", len(rs))
			break
		}
		fmt.Fprintf(&b, "\n  %s %q %q %q %q", r.Time.UTC().Format(time.RFC3339Nano), r.Function, r.RequestID, r.TraceID, r.Message)
	}
	return b.String()
}

// checkLogs compares a query's lines with the model.
func checkLogs(t *testing.T, s store.Store, m *logModel, q store.LogQuery) {
	t.Helper()
	got, want := readLogs(t, s, q), m.expect(q)
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = sameLine(got[i], want[i])
	}
	if !same {
		t.Fatalf("Logs(%s):\n got %s\nwant %s", describeLogQuery(q), describeLines(got), describeLines(want))
	}
}

// checkAllLogs checks every lookup the model's lines can be found by, over
// all time.
func checkAllLogs(t *testing.T, s store.Store, m *logModel) {
	t.Helper()
	seen := map[store.LogQuery]bool{}
	m.mu.Lock()
	var qs []store.LogQuery
	for _, r := range m.lines {
		for _, q := range []store.LogQuery{{TraceID: r.TraceID}, {RequestID: r.RequestID}, {Function: r.Function}} {
			if q != (store.LogQuery{}) && !seen[q] {
				seen[q] = true
				qs = append(qs, q)
			}
		}
	}
	m.mu.Unlock()
	for _, q := range qs {
		checkLogs(t, s, m, q)
	}
}

func logWrite(t *testing.T, s store.Store, m *logModel, recs ...logs.Record) {
	t.Helper()
	if err := s.Write(context.Background(), &store.Batch{Logs: recs}); err != nil {
		t.Fatalf("Write(%d log lines): %v", len(recs), err)
	}
	m.add(recs)
}

// line is a log line of function fn in request req of trace (either may
// be empty).
func line(fn, req, trace string, at time.Time, msg string) logs.Record {
	return logs.Record{
		Time:      at,
		Function:  fn,
		LogGroup:  "/aws/lambda/" + fn,
		LogStream: at.UTC().Format("2006/01/02") + "/[$LATEST]0123456789abcdef",
		RequestID: req,
		TraceID:   trace,
		Stream:    logs.Stdout,
		Message:   msg,
	}
}

// xrayTrace returns an X-Ray trace ID in text form (to the store, an
// opaque string: its epoch need not be near the line's time).
func xrayTrace(n uint64) string { return traceID(1764067200, n).String() }

// testLogsLookup finds lines by trace, request and function: a trace's
// lines from several functions, lines outside any request or trace, IDs
// that are prefixes of each other, many functions.
func testLogsLookup(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	T := now().Truncate(time.Second)
	at := func(ms int) time.Time { return T.Add(time.Duration(ms) * time.Millisecond) }
	t1, t2 := xrayTrace(1), xrayTrace(2)
	platform := func(r logs.Record) logs.Record { r.Stream = logs.Platform; return r }
	stderr := func(r logs.Record) logs.Record { r.Stream = logs.Stderr; return r }
	logWrite(t, s, m,
		platform(line("f", "", "", at(0), "INIT_START Runtime Version: python:3.12")),
		platform(line("f", "r1", t1, at(10), "START RequestId: r1 Version: $LATEST")),
		line("f", "r1", t1, at(11), "calling f1"),
		platform(line("f1", "r2", t1, at(12), "START RequestId: r2 Version: $LATEST")),
		stderr(line("f1", "r2", t1, at(13), "warning: \x00binary\xff and\nnewlines")),
		platform(line("f1", "r2", t1, at(14), "END RequestId: r2")),
		line("f", "r1", t1, at(15), "got answer"),
		platform(line("f", "r1", t1, at(16), "END RequestId: r1")),
		line("f", "r3", "", at(20), "untraced request"),
		line("f10", "r10", t2, at(21), "another function, another trace"),
		line("", "r11", t2, at(22), "no function"),
		line("", "", "", at(23), "no IDs at all: nothing finds it"),
		line("f", "r1", t1, at(24), ""),
	)
	checkAllLogs(t, s, m)
	f := func(q store.LogQuery, n int) {
		t.Helper()
		if got := len(readLogs(t, s, q)); got != n {
			t.Fatalf("Logs(%s): %d lines, want %d", describeLogQuery(q), got, n)
		}
		checkLogs(t, s, m, q)
	}
	f(store.LogQuery{TraceID: t1}, 8)
	f(store.LogQuery{TraceID: t2}, 2)
	f(store.LogQuery{RequestID: "r1"}, 5)
	f(store.LogQuery{RequestID: "r"}, 0)
	f(store.LogQuery{Function: "f"}, 7)
	f(store.LogQuery{Function: "f1"}, 3)
	f(store.LogQuery{Function: "f10"}, 1)
	f(store.LogQuery{Function: "f100"}, 0)
	f(store.LogQuery{TraceID: xrayTrace(3)}, 0)
	f(store.LogQuery{TraceID: "r1"}, 0) // a request ID is not a trace ID

	// Many functions in one batch, and again in a second.
	var recs []logs.Record
	for i := range 150 {
		fn := fmt.Sprintf("fn-%d", i)
		for j := range 3 {
			recs = append(recs, line(fn, fmt.Sprintf("req-%d-%d", i, j/2), xrayTrace(uint64(100+i%7)), at(100+i+j), fmt.Sprintf("line %d", j)))
		}
	}
	logWrite(t, s, m, recs...)
	logWrite(t, s, m, recs[:30]...) // a retried Write: its lines come twice
	checkAllLogs(t, s, m)
	f(store.LogQuery{Function: "fn-1"}, 6)
	f(store.LogQuery{Function: "fn-149"}, 3)
}

// testLogsTime pins down the time window: From inclusive, To exclusive,
// zero unbounded, across days.
func testLogsTime(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	d0 := now().Truncate(24 * time.Hour) // midnight UTC
	times := []time.Time{
		d0.Add(-3 * day), d0.Add(-time.Nanosecond), d0, d0.Add(time.Nanosecond), d0.Add(12 * time.Hour),
		d0.Add(day - time.Nanosecond), d0.Add(day), d0.Add(3*day + time.Hour),
	}
	tr := xrayTrace(1)
	var recs []logs.Record
	for i, at := range times {
		recs = append(recs, line("f", fmt.Sprintf("r%d", i%2), tr, at, fmt.Sprintf("line %d", i)))
		if i == 2 {
			recs = append(recs, line("f", "r0", tr, at, "a second line at midnight"))
		}
	}
	logWrite(t, s, m, recs...)
	f := func(from, to time.Time, n int) {
		t.Helper()
		for _, q := range []store.LogQuery{{Function: "f"}, {TraceID: tr}} {
			q.From, q.To = from, to
			if got := len(readLogs(t, s, q)); got != n {
				t.Fatalf("Logs(%s): %d lines, want %d", describeLogQuery(q), got, n)
			}
			checkLogs(t, s, m, q)
		}
		checkLogs(t, s, m, store.LogQuery{RequestID: "r0", From: from, To: to})
	}
	var zero time.Time
	f(zero, zero, 9)
	f(d0, zero, 7)                    // From inclusive
	f(zero, d0, 2)                    // To exclusive
	f(d0, d0.Add(time.Nanosecond), 2) // both lines at midnight
	f(d0.Add(time.Nanosecond), d0.Add(day), 3)
	f(d0.Add(-time.Nanosecond), d0.Add(day+time.Nanosecond), 7)
	f(d0.Add(-2*day), d0.Add(3*day), 7)
	f(d0.Add(-10*day), d0.Add(-3*day), 0)
	f(d0.Add(-10*day), d0.Add(-3*day+1), 1)
	f(d0.Add(day), d0, 0) // From after To
	f(d0, d0, 0)
	f(d0.Add(4*day), zero, 0)
	f(time.Unix(1, 0), time.Unix(1<<34, 0), 9)
}

// testLogsOrder checks the order of lines: by time, lines of equal time in
// write order, across batches and a reopen.
func testLogsOrder(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	T := now().Truncate(time.Second)
	tr := xrayTrace(1)
	l := func(at time.Time, msg string) logs.Record { return line("f", "r", tr, at, msg) }
	logWrite(t, s, m, l(T, "a1"), l(T.Add(-time.Second), "b1"), l(T, "a2"), l(T.Add(time.Second), "c1"), l(T, "a3"))
	logWrite(t, s, m, l(T, "a4"), l(T.Add(-2*time.Second), "b0"))
	want := []string{"b0", "b1", "a1", "a2", "a3", "a4", "c1"}
	check := func() {
		t.Helper()
		for _, q := range []store.LogQuery{{Function: "f"}, {TraceID: tr}, {RequestID: "r"}} {
			var got []string
			for _, r := range readLogs(t, s, q) {
				got = append(got, r.Message)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Logs(%s): %v, want %v", describeLogQuery(q), got, want)
			}
			checkLogs(t, s, m, q)
		}
	}
	check()
	if h.reopen != nil {
		s = h.reopen(t, s)
		check()
	}
	logWrite(t, s, m, l(T, "a5"))
	want = []string{"b0", "b1", "a1", "a2", "a3", "a4", "a5", "c1"}
	check()
	if h.reopen != nil {
		s = h.reopen(t, s)
		check()
	}
}

// testLogsLimit checks Limit, alone and with a window.
func testLogsLimit(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	T := now().Truncate(time.Second)
	var recs []logs.Record
	for i := range 20 {
		recs = append(recs, line("f", "r", "", T.Add(time.Duration(i/2)*time.Second), fmt.Sprint(i)))
	}
	logWrite(t, s, m, recs...)
	for _, limit := range []int{0, 1, 2, 3, 19, 20, 21, 1000} {
		checkLogs(t, s, m, store.LogQuery{Function: "f", Limit: limit})
		checkLogs(t, s, m, store.LogQuery{RequestID: "r", Limit: limit, From: T.Add(3 * time.Second)})
		checkLogs(t, s, m, store.LogQuery{Function: "f", Limit: limit, From: T.Add(3 * time.Second), To: T.Add(5 * time.Second)})
	}
	if got := readLogs(t, s, store.LogQuery{Function: "f", Limit: 3}); len(got) != 3 || got[2].Message != "2" {
		t.Fatalf("the first 3 lines: %s", describeLines(got))
	}
}

// testLogsFollow follows a function's lines as a tail would: ask again
// from the last time seen and drop the lines of that time already seen.
// Lines are written in time order (a follower cannot see a line written
// after it has moved past the line's time); every line comes exactly
// once, in order.
func testLogsFollow(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	T := now().Truncate(time.Second)
	var seen []logs.Record
	var last time.Time
	atLast := 0 // lines seen at time last
	poll := func() {
		t.Helper()
		skip := atLast
		for _, r := range readLogs(t, s, store.LogQuery{Function: "f", From: last}) {
			if r.Time.Equal(last) && skip > 0 {
				skip--
				continue
			}
			seen = append(seen, r)
			if r.Time.Equal(last) {
				atLast++
			} else {
				last, atLast = r.Time, 1
			}
		}
	}
	n := 0
	next := func(at time.Time) logs.Record {
		n++
		return line("f", fmt.Sprint("r", n), "", at, fmt.Sprint("line ", n))
	}
	for round := range 12 {
		at := T.Add(time.Duration(round/3) * time.Second) // three rounds write at each second
		logWrite(t, s, m, next(at), next(at))
		if round%3 == 2 {
			logWrite(t, s, m, next(at.Add(time.Millisecond)))
		}
		poll()
		if round%2 == 1 {
			poll() // nothing new
		}
	}
	want := m.expect(store.LogQuery{Function: "f"})
	if len(seen) != len(want) {
		t.Fatalf("followed %d lines, want %d:%s", len(seen), len(want), describeLines(seen))
	}
	for i := range want {
		if !sameLine(seen[i], want[i]) {
			t.Fatalf("line %d followed: %s, want %s", i, describeLines(seen[i:i+1]), describeLines(want[i:i+1]))
		}
	}
}

// testLogsDropBefore checks that retention takes old lines from every
// lookup and keeps the others.
func testLogsDropBefore(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	base := now()
	tr := xrayTrace(1)
	var recs []logs.Record
	for i, ago := range []time.Duration{10 * day, 5 * day, time.Hour, 0} {
		at := base.Add(-ago)
		recs = append(recs, line("f", fmt.Sprint("r", i), tr, at, "a"), line("g", "rg", "", at, "b"))
	}
	logWrite(t, s, m, recs...)
	dropBefore(t, s, base.Add(-30*day))
	checkAllLogs(t, s, m)
	dropBefore(t, s, base.Add(-7*day))
	m.dropBefore(base.Add(-7 * day))
	checkAllLogs(t, s, m)
	checkLogs(t, s, m, store.LogQuery{RequestID: "r0"})
	dropBefore(t, s, base.Add(-3*day))
	m.dropBefore(base.Add(-3 * day))
	checkAllLogs(t, s, m)
	checkLogs(t, s, m, store.LogQuery{RequestID: "r1"})
	if h.reopen != nil {
		s = h.reopen(t, s)
		checkAllLogs(t, s, m)
	}
	logWrite(t, s, m, line("f", "r9", tr, base, "after"))
	checkAllLogs(t, s, m)
	dropBefore(t, s, base.Add(2*day))
	for _, q := range []store.LogQuery{{Function: "f"}, {Function: "g"}, {TraceID: tr}, {RequestID: "r9"}} {
		if got := readLogs(t, s, q); len(got) != 0 {
			t.Fatalf("Logs(%s) after dropping everything:%s", describeLogQuery(q), describeLines(got))
		}
	}
}

// testLogsBadQuery checks that a query must name exactly one ID and a
// limit that is not negative.
func testLogsBadQuery(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	logWrite(t, s, m, line("f", "r", "t", now(), "x"))
	for _, q := range []store.LogQuery{{}, {TraceID: "t", Function: "f"}, {RequestID: "r", Function: "f"}, {TraceID: "t", RequestID: "r", Function: "f"}, {Function: "f", Limit: -1}} {
		var errs []error
		for r, err := range s.Logs(context.Background(), q) {
			if err == nil {
				t.Fatalf("Logs(%+v) yielded a line:%s", q, describeLines([]logs.Record{r}))
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 {
			t.Fatalf("Logs(%+v): %d errors, want 1", q, len(errs))
		}
	}
	checkAllLogs(t, s, m)
}

// testLogsConcurrent writes lines from several writers while readers
// follow: reads stay in time order, and every line is there in the end.
func testLogsConcurrent(t *testing.T, h *harness) {
	s := h.open(t)
	m := &logModel{}
	T := now().Truncate(time.Second)
	const writers, batches = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				recs := []logs.Record{
					line("f", fmt.Sprintf("r%d-%d", w, i), xrayTrace(uint64(w+1)), T.Add(time.Duration(i)*time.Millisecond), "a"),
					line(fmt.Sprint("own-", w), fmt.Sprintf("r%d-%d", w, i), xrayTrace(uint64(w+1)), T.Add(time.Duration(i)*time.Millisecond), "b"),
				}
				if err := s.Write(context.Background(), &store.Batch{Logs: recs}); err != nil {
					errs <- err
					return
				}
				m.add(recs)
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				var last time.Time
				for r, err := range s.Logs(context.Background(), store.LogQuery{Function: "f"}) {
					if err != nil {
						errs <- err
						return
					}
					if r.Time.Before(last) {
						errs <- fmt.Errorf("line at %s after one at %s", r.Time, last)
						return
					}
					last = r.Time
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Lines of equal time from concurrent Writes may come in either order:
	// compare them as sets per time.
	for _, q := range []store.LogQuery{{Function: "f"}, {Function: "own-1"}, {TraceID: xrayTrace(2)}, {RequestID: "r3-7"}} {
		got, want := readLogs(t, s, q), m.expect(q)
		key := func(r logs.Record) string {
			return r.Time.UTC().Format(time.RFC3339Nano) + " " + r.Function + " " + r.RequestID + " " + r.Message
		}
		g, w := make([]string, len(got)), make([]string, len(want))
		for i := range got {
			g[i] = key(got[i])
		}
		for i := range want {
			w[i] = key(want[i])
		}
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) || !slices.IsSortedFunc(got, func(a, b logs.Record) int { return a.Time.Compare(b.Time) }) {
			t.Fatalf("Logs(%s) after concurrent writes:\n got %s\nwant %s", describeLogQuery(q), describeLines(got), describeLines(want))
		}
	}
}
