package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// graphModel is what the suite expects of the graph counters: per (group,
// minute, key), the sum of every delta written.
type graphModel struct {
	mu   sync.Mutex
	rows map[graphCell]map[uint32]float64
}

type graphCell struct {
	group  string
	minute int64
	key    string
}

func newGraphModel() *graphModel { return &graphModel{rows: map[graphCell]map[uint32]float64{}} }

func (m *graphModel) add(ds []store.GraphDelta) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		c := graphCell{d.Group, d.Minute, d.Key}
		if m.rows[c] == nil {
			m.rows[c] = map[uint32]float64{}
		}
		for _, v := range d.Values {
			m.rows[c][v.Index] += v.Value
		}
	}
}

// dropBefore forgets the minutes before minute.
func (m *graphModel) dropBefore(minute int64) {
	for c := range m.rows {
		if c.minute < minute {
			delete(m.rows, c)
		}
	}
}

// expect returns the rows GraphCounters must yield.
func (m *graphModel) expect(group string, from, to int64) []store.GraphRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rows []store.GraphRow
	for c, vs := range m.rows {
		if c.group != group || c.minute < from || c.minute >= to {
			continue
		}
		r := store.GraphRow{Minute: c.minute, Key: c.key}
		for i, v := range vs {
			if v != 0 {
				r.Values = append(r.Values, store.Counter{Index: i, Value: v})
			}
		}
		if len(r.Values) == 0 {
			continue
		}
		slices.SortFunc(r.Values, func(a, b store.Counter) int { return cmp.Compare(a.Index, b.Index) })
		rows = append(rows, r)
	}
	slices.SortFunc(rows, compareGraphRows)
	return rows
}

func compareGraphRows(a, b store.GraphRow) int {
	return cmp.Or(cmp.Compare(a.Minute, b.Minute), strings.Compare(a.Key, b.Key))
}

// readGraph reads a group's rows, copying their values.
func readGraph(t *testing.T, s store.Store, group string, from, to int64) []store.GraphRow {
	t.Helper()
	var rows []store.GraphRow
	for r, err := range s.GraphCounters(context.Background(), group, from, to) {
		if err != nil {
			t.Fatalf("GraphCounters(%q, %d, %d): %v", group, from, to, err)
		}
		r.Values = slices.Clone(r.Values)
		rows = append(rows, r)
	}
	return rows
}

func describeGraphRows(rows []store.GraphRow) string {
	var b strings.Builder
	for i, r := range rows {
		if i == 8 {
			fmt.Fprintf(&b, " ... (%d rows)", len(rows))
			break
		}
		fmt.Fprintf(&b, " {%d %q %v}", r.Minute, r.Key, r.Values)
	}
	return b.String()
}

// checkGraph compares a group's rows in [from, to) with the model.
func checkGraph(t *testing.T, s store.Store, m *graphModel, group string, from, to int64) {
	t.Helper()
	got, want := readGraph(t, s, group, from, to), m.expect(group, from, to)
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].Minute == want[i].Minute && got[i].Key == want[i].Key && slices.Equal(got[i].Values, want[i].Values)
	}
	if !same {
		t.Fatalf("GraphCounters(%q, %d, %d):\n got %s\nwant %s", group, from, to, describeGraphRows(got), describeGraphRows(want))
	}
}

func graphWrite(t *testing.T, s store.Store, m *graphModel, b *store.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write(%d graph deltas): %v", len(b.Graph), err)
	}
	m.add(b.Graph)
}

func cs(pairs ...float64) []store.Counter {
	var out []store.Counter
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, store.Counter{Index: uint32(pairs[i]), Value: pairs[i+1]})
	}
	return out
}

const minMinute, maxMinute = math.MinInt64, math.MaxInt64

// testGraphSums adds deltas across batches, within a batch and across a
// reopen, with records and summaries in the same batches and without.
func testGraphSums(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	rm := newModel()
	M := int64(sec(now())) / 60
	base := now()
	id := traceID(sec(base), 1)
	b := &store.Batch{
		Records: []store.Record{record(id, 1, base.UnixNano(), "")},
		Graph: []store.GraphDelta{
			{Minute: M, Group: "", Key: "a", Values: cs(0, 1, 4, 1500)},
			{Minute: M, Group: "", Key: "b", Values: cs(0, 2, 3, 1)},
			{Minute: M, Group: "", Key: "a", Values: cs(0, 1, 1, 1, 65536+3, 1)}, // the same key twice in a batch
			{Minute: M - 1, Group: "", Key: "a", Values: cs(6, 1)},
			{Minute: M, Group: "g1", Key: "a", Values: cs(0, 7)},
		},
	}
	graphWrite(t, s, m, b)
	rm.add(b)
	checkGraph(t, s, m, "", minMinute, maxMinute)
	checkGraph(t, s, m, "g1", minMinute, maxMinute)
	checkGraph(t, s, m, "", M, M+1)

	// A batch of graph deltas only; exact sums of large whole numbers and
	// of binary fractions; the widest index.
	graphWrite(t, s, m, &store.Batch{Graph: []store.GraphDelta{
		{Minute: M, Key: "a", Values: cs(0, 1, 4, 1<<51)},
		{Minute: M, Key: "c", Values: []store.Counter{{Index: 2, Value: 0.5}, {Index: math.MaxUint32, Value: -3}}},
		{Minute: M, Key: "c", Values: []store.Counter{{Index: 2, Value: 0.25}}},
		{Minute: M, Key: "d", Values: nil},
	}})
	graphWrite(t, s, m, &store.Batch{Graph: []store.GraphDelta{{Minute: M, Key: "a", Values: cs(4, 1<<51-1)}}})
	checkGraph(t, s, m, "", minMinute, maxMinute)
	if rows := readGraph(t, s, "", M, M+1); len(rows) == 0 || rows[0].Key != "a" || len(rows[0].Values) < 3 ||
		rows[0].Values[2] != (store.Counter{Index: 4, Value: 1<<52 + 1499}) {
		t.Fatalf("sum of 1500, 2^51 and 2^51-1: %s", describeGraphRows(rows))
	}

	// The store keeps no reference to the deltas.
	b = &store.Batch{Graph: []store.GraphDelta{{Minute: M + 1, Key: "a", Values: cs(0, 5)}}}
	graphWrite(t, s, m, b)
	b.Graph[0].Values[0].Value = 99
	b.Graph[0].Key = "zz"
	checkGraph(t, s, m, "", minMinute, maxMinute)

	if h.reopen != nil {
		s = h.reopen(t, s)
		checkGraph(t, s, m, "", minMinute, maxMinute)
		checkGraph(t, s, m, "g1", minMinute, maxMinute)
		graphWrite(t, s, m, &store.Batch{Graph: []store.GraphDelta{
			{Minute: M, Key: "a", Values: cs(0, 10)},
			{Minute: M, Group: "g1", Key: "a", Values: cs(0, -7, 1, 1)},
		}})
		checkGraph(t, s, m, "", minMinute, maxMinute)
		checkGraph(t, s, m, "g1", minMinute, maxMinute)
	}
	rm.check(t, s) // records are unaffected
	checkRecordCount(t, s, rm)
}

// testGraphCancel writes deltas that cancel out: the counters, then the
// rows, disappear, and come back when counted again.
func testGraphCancel(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	M := int64(sec(now())) / 60
	f := func(ds ...store.GraphDelta) {
		t.Helper()
		graphWrite(t, s, m, &store.Batch{Graph: ds})
		checkGraph(t, s, m, "", minMinute, maxMinute)
		checkGraph(t, s, m, "g", minMinute, maxMinute)
	}
	f(store.GraphDelta{Minute: M, Key: "inferred", Values: cs(0, 3, 4, 120)},
		store.GraphDelta{Minute: M, Key: "real", Values: cs(0, 1)},
		store.GraphDelta{Minute: M, Group: "g", Key: "inferred", Values: cs(0, 3)})
	// Re-attribution: the inferred node's requests move to the real one.
	f(store.GraphDelta{Minute: M, Key: "inferred", Values: cs(0, -3, 4, -120)},
		store.GraphDelta{Minute: M, Key: "real", Values: cs(0, 3, 4, 120)})
	if rows := readGraph(t, s, "", M, M+1); len(rows) != 1 || rows[0].Key != "real" {
		t.Fatalf("after cancelling a key: %s, want only the real one", describeGraphRows(rows))
	}
	// One counter cancels, the other stays.
	f(store.GraphDelta{Minute: M, Key: "real", Values: cs(0, -4)})
	// Cancelled within one batch: nothing at all.
	f(store.GraphDelta{Minute: M + 1, Key: "x", Values: cs(1, 5)},
		store.GraphDelta{Minute: M + 1, Key: "x", Values: cs(1, -5)},
		store.GraphDelta{Minute: M + 1, Group: "g", Key: "x", Values: cs(1, 0)})
	// A cancelled key counts again.
	f(store.GraphDelta{Minute: M, Key: "inferred", Values: cs(2, 1)})
	if h.reopen != nil {
		s = h.reopen(t, s)
		f(store.GraphDelta{Minute: M, Group: "g", Key: "inferred", Values: cs(0, -3)})
		s = h.reopen(t, s)
		checkGraph(t, s, m, "", minMinute, maxMinute)
		checkGraph(t, s, m, "g", minMinute, maxMinute)
	}
}

// graphStrings are groups and keys that are prefixes of each other, empty,
// or binary: a backend must keep them apart and order keys bytewise.
var graphStrings = []string{"", "a", "a\x00", "a\x00b", "ab", "b", "\xff", "\xff\xff", "é", "node\x01web\x00x"}

// testGraphOrder writes random deltas for many groups, minutes and keys,
// and reads windows of each group back.
func testGraphOrder(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	rnd := rand.New(rand.NewPCG(3, 4))
	M := int64(sec(now())) / 60
	minutes := []int64{minMinute, -1, 0, 1, M - 1440, M - 61, M - 60, M - 59, M - 1, M, M + 1, 1 << 40, maxMinute - 1}
	keys := append(slices.Clone(graphStrings), "n-web", "e-web-db", "e-web-db-alias")
	for range 6 {
		b := &store.Batch{}
		for range 150 {
			d := store.GraphDelta{
				Minute: minutes[rnd.IntN(len(minutes))],
				Group:  graphStrings[rnd.IntN(len(graphStrings))],
				Key:    keys[rnd.IntN(len(keys))],
			}
			idx := uint32(rnd.IntN(4))
			for range rnd.IntN(4) {
				d.Values = append(d.Values, store.Counter{Index: idx, Value: float64(rnd.IntN(21) - 5)})
				idx += 1 + uint32(rnd.IntN(70000))
			}
			b.Graph = append(b.Graph, d)
		}
		graphWrite(t, s, m, b)
	}
	for _, g := range graphStrings {
		checkGraph(t, s, m, g, minMinute, maxMinute)
		checkGraph(t, s, m, g, M-60, M)
		checkGraph(t, s, m, g, M-59, M+1)
		checkGraph(t, s, m, g, -1, 1)
		checkGraph(t, s, m, g, M, maxMinute)
	}
	checkGraph(t, s, m, "unknown group", minMinute, maxMinute)
	if rows := readGraph(t, s, "", minMinute, maxMinute); len(rows) == 0 {
		t.Fatal("the workload wrote no rows to the Default group")
	}
}

// testGraphWindow pins down the window: From inclusive, To exclusive.
func testGraphWindow(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	M := int64(sec(now())) / 60
	b := &store.Batch{}
	for _, mi := range []int64{M - 2, M - 1, M, M + 1} {
		b.Graph = append(b.Graph, store.GraphDelta{Minute: mi, Key: "k", Values: cs(0, float64(mi-M+10))})
	}
	graphWrite(t, s, m, b)
	f := func(from, to int64, want ...int64) {
		t.Helper()
		rows := readGraph(t, s, "", from, to)
		var got []int64
		for _, r := range rows {
			got = append(got, r.Minute)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("GraphCounters in [%d, %d): minutes %v, want %v", from, to, got, want)
		}
		checkGraph(t, s, m, "", from, to)
	}
	f(M-2, M+2, M-2, M-1, M, M+1)
	f(M-1, M+1, M-1, M)
	f(M, M+1, M)
	f(M, M)
	f(M+1, M-2)
	f(M+2, maxMinute)
	f(minMinute, M-2)
	f(minMinute, maxMinute, M-2, M-1, M, M+1)
}

// testGraphDropBefore checks that retention takes the graph minutes before
// the cutoff and keeps those after it.
func testGraphDropBefore(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	base := now()
	minute := func(ago time.Duration) int64 { return base.Add(-ago).Unix() / 60 }
	b := &store.Batch{}
	for _, ago := range []time.Duration{10 * day, 5 * day, time.Hour, 0} {
		for _, g := range []string{"", "g"} {
			b.Graph = append(b.Graph, store.GraphDelta{Minute: minute(ago), Group: g, Key: "k", Values: cs(0, 1)})
		}
	}
	graphWrite(t, s, m, b)
	check := func() {
		t.Helper()
		checkGraph(t, s, m, "", minMinute, maxMinute)
		checkGraph(t, s, m, "g", minMinute, maxMinute)
	}
	dropBefore(t, s, base.Add(-30*day))
	check()
	dropBefore(t, s, base.Add(-7*day))
	m.dropBefore(minute(7 * day))
	check()
	// Deltas for a dropped minute start afresh.
	graphWrite(t, s, m, &store.Batch{Graph: []store.GraphDelta{{Minute: minute(10 * day), Key: "k", Values: cs(0, 2)}}})
	check()
	dropBefore(t, s, base.Add(-3*day))
	m.dropBefore(minute(3 * day))
	check()
	if h.reopen != nil {
		s = h.reopen(t, s)
		check()
	}
	dropBefore(t, s, base.Add(2*day))
	m.dropBefore(minute(-2 * day))
	check()
	if rows := readGraph(t, s, "", minMinute, maxMinute); len(rows) != 0 {
		t.Fatalf("rows after dropping everything: %s", describeGraphRows(rows))
	}
}

// testGraphInvalid checks that Write refuses values that cannot be summed.
func testGraphInvalid(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	M := int64(sec(now())) / 60
	graphWrite(t, s, m, &store.Batch{Graph: []store.GraphDelta{{Minute: M, Key: "k", Values: cs(0, 1)}}})
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		err := s.Write(context.Background(), &store.Batch{Graph: []store.GraphDelta{
			{Minute: M, Key: "k", Values: cs(0, 1)},
			{Minute: M, Key: "bad", Values: []store.Counter{{Index: 3, Value: v}}},
		}})
		if err == nil || !strings.Contains(err.Error(), "bad") {
			t.Fatalf("Write of a %v counter: %v, want an error naming its key", v, err)
		}
	}
	checkGraph(t, s, m, "", minMinute, maxMinute)
}

// testGraphConcurrent adds to shared and own keys from several writers
// while readers read: reads stay ordered, and every delta counts once.
func testGraphConcurrent(t *testing.T, h *harness) {
	s := h.open(t)
	m := newGraphModel()
	M := int64(sec(now())) / 60
	const writers, batches = 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				b := &store.Batch{Graph: []store.GraphDelta{
					{Minute: M - int64(i%3), Key: "shared", Values: cs(0, 1, 4, float64(w))},
					{Minute: M, Key: fmt.Sprintf("own-%d", w), Values: cs(0, 1)},
					{Minute: M, Group: "g", Key: "shared", Values: cs(1, 2)},
				}}
				if w == 0 {
					id := traceID(sec(now()), uint64(i+1))
					b.Records = []store.Record{record(id, xrayid.SegmentID(i+1), now().UnixNano(), "")}
				}
				if err := s.Write(context.Background(), b); err != nil {
					errs <- err
					return
				}
				m.add(b.Graph)
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
				var last *store.GraphRow
				for r, err := range s.GraphCounters(context.Background(), "", minMinute, maxMinute) {
					if err != nil {
						errs <- err
						return
					}
					if last != nil && compareGraphRows(*last, r) >= 0 {
						errs <- fmt.Errorf("rows out of order: {%d %q} after {%d %q}", r.Minute, r.Key, last.Minute, last.Key)
						return
					}
					last = &store.GraphRow{Minute: r.Minute, Key: r.Key}
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
	checkGraph(t, s, m, "", minMinute, maxMinute)
	checkGraph(t, s, m, "g", minMinute, maxMinute)
}
