package graph_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestKeys(t *testing.T) {
	f := func(k graph.Key) {
		t.Helper()
		var s string
		if k.Edge {
			s = graph.EdgeKey(k.From, k.To, k.Link, k.Aliases)
		} else {
			s = graph.NodeKey(k.Node)
		}
		got, err := graph.ParseKey(s)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", s, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(k) {
			t.Fatalf("round trip: got %+v, want %+v", got, k)
		}
	}
	f(graph.Key{Node: graph.NodeID{Name: "items", Type: "AWS::DynamoDB::Table"}})
	f(graph.Key{Node: graph.NodeID{Name: "web", Type: "AWS::EC2::Instance", AccountID: "123456789012"}})
	f(graph.Key{Node: graph.NodeID{}})
	f(graph.Key{Node: graph.NodeID{Name: strings.Repeat("ü", 300)}})
	f(graph.Key{Edge: true, From: graph.NodeID{Name: "api", Type: "client"}, To: graph.NodeID{Name: "api", Type: "AWS::Lambda"}})
	f(graph.Key{Edge: true, Link: true, From: graph.NodeID{Name: "q", Type: "AWS::SQS::Queue"}, To: graph.NodeID{Name: "worker"}})
	f(graph.Key{Edge: true, From: graph.NodeID{Name: "a"}, To: graph.NodeID{Name: "b"}, Aliases: []string{"b.example.com", "bee"}})

	// Aliases are normalized: sorted, unique, no empty names.
	a := graph.EdgeKey(graph.NodeID{Name: "a"}, graph.NodeID{Name: "b"}, false, []string{"z", "", "y", "z"})
	b := graph.EdgeKey(graph.NodeID{Name: "a"}, graph.NodeID{Name: "b"}, false, []string{"y", "z"})
	if a != b {
		t.Fatalf("alias order changes the key: %q vs %q", a, b)
	}
	// Distinct identities never share a key (length prefixes).
	if graph.NodeKey(graph.NodeID{Name: "ab", Type: "c"}) == graph.NodeKey(graph.NodeID{Name: "a", Type: "bc"}) {
		t.Fatal("ambiguous node keys")
	}
	if graph.EdgeKey(graph.NodeID{Name: "a"}, graph.NodeID{Name: "b"}, true, nil) == graph.EdgeKey(graph.NodeID{Name: "a"}, graph.NodeID{Name: "b"}, false, nil) {
		t.Fatal("link flag not in the key")
	}

	bad := func(s string) {
		t.Helper()
		if _, err := graph.ParseKey(s); err == nil {
			t.Fatalf("ParseKey(%q) accepted a bad key", s)
		}
	}
	bad("")
	bad("x")
	bad("n")
	bad("n\x05ab")
	bad(graph.NodeKey(graph.NodeID{Name: "a"}) + "z")
	bad("e\x01a\x00\x00\x01b\x00\x00\xff\xff\xff\xff\x0f")
	bad("n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
}

// The persisted key encoding must never change.
func TestKeyEncodingIsStable(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("key %q, want %q (persisted format changed)", got, want)
		}
	}
	f(graph.NodeKey(graph.NodeID{Name: "items", Type: "T", AccountID: "1"}), "n\x05items\x01T\x011")
	f(graph.EdgeKey(graph.NodeID{Name: "a", Type: "client"}, graph.NodeID{Name: "a"}, false, nil), "e\x01a\x06client\x00\x01a\x00\x00\x00")
	f(graph.EdgeKey(graph.NodeID{Name: "a"}, graph.NodeID{Name: "b"}, true, []string{"c"}), "l\x01a\x00\x00\x01b\x00\x00\x01\x01c")
}

func TestBuckets(t *testing.T) {
	check := func(us int64) {
		t.Helper()
		b := graph.Bucket(us)
		if b >= graph.NumBuckets {
			t.Fatalf("Bucket(%d) = %d, beyond NumBuckets %d", us, b, graph.NumBuckets)
		}
		lo, hi := graph.BucketBounds(b)
		if us < lo || us >= hi {
			t.Fatalf("Bucket(%d) = %d with bounds [%d, %d)", us, b, lo, hi)
		}
		v := graph.BucketValue(b) * 1e6
		if v < float64(lo)-1e-6 || v >= float64(hi) {
			t.Fatalf("BucketValue(%d) = %v µs outside [%d, %d)", b, v, lo, hi)
		}
		// The error bound: 5/256 of the value (< 2 %), exact below 64 µs
		// but for 1 µs.
		if e := math.Abs(v - float64(us)); us < 64 && e > 1+1e-6 || us >= 64 && e/float64(us) > 5.0/256 {
			t.Fatalf("value %d µs reported as %v µs: error %.3f%%", us, v, 100*e/float64(us))
		}
	}
	for us := int64(0); us < 100_000; us++ {
		check(us)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(int64(math.Exp(r.Float64() * math.Log(math.MaxInt64/2))))
	}
	check(math.MaxInt64 - 1)
	// Buckets are contiguous and ordered.
	prevHi := int64(0)
	prevV := -1.0
	for b := uint32(0); b < graph.NumBuckets; b++ {
		lo, hi := graph.BucketBounds(b)
		if lo != prevHi || hi <= lo {
			t.Fatalf("bucket %d: [%d, %d) after %d", b, lo, hi, prevHi)
		}
		if v := graph.BucketValue(b); v <= prevV {
			t.Fatalf("bucket %d value %v not above %v", b, v, prevV)
		}
		prevHi, prevV = hi, graph.BucketValue(b)
	}
	// Values are as round as their bucket allows: a multiple of the
	// largest power of ten within a quarter of the bucket's width.
	for b := uint32(0); b < graph.NumBuckets-1; b++ {
		lo, hi := graph.BucketBounds(b)
		if lo > 1<<50 {
			break // beyond float64's microseconds (35 years)
		}
		step := int64(1)
		for step*10 <= (hi-lo)/4 && step < 1_000_000 {
			step *= 10
		}
		if us := int64(math.Round(graph.BucketValue(b) * 1e6)); us%step != 0 {
			t.Fatalf("bucket %d [%d, %d) reports %d µs, not a multiple of %d", b, lo, hi, us, step)
		}
	}
	f := func(sec, want float64) {
		t.Helper()
		if v := graph.BucketValue(graph.Bucket(int64(math.Round(sec * 1e6)))); v != want {
			t.Fatalf("%v s reported as %v, want %v", sec, v, want)
		}
	}
	f(0.034, 0.0342)
	f(60.123456, 60.2)
	f(0.000031, 0.000031)
}

// counters applies contributions or deltas: (group, minute, key) → index → value.
type counters map[string]map[uint32]float64

func rowID(group string, minute int64, key string) string {
	return fmt.Sprintf("%q/%d/%q", group, minute, key)
}

func (c counters) addContributions(cs []graph.Contribution) {
	for _, x := range cs {
		c.add(rowID(x.Group, x.Minute, x.Key), x.Values)
	}
}

func (c counters) addDeltas(t *testing.T, ds []store.GraphDelta) {
	t.Helper()
	for _, d := range ds {
		for i := 1; i < len(d.Values); i++ {
			if d.Values[i-1].Index >= d.Values[i].Index {
				t.Fatalf("delta values not ascending and unique: %v", d.Values)
			}
		}
		if len(d.Values) == 0 {
			t.Fatalf("empty delta %+v", d)
		}
		c.add(rowID(d.Group, d.Minute, d.Key), d.Values)
	}
}

func (c counters) add(id string, vs []store.Counter) {
	m := c[id]
	if m == nil {
		m = map[uint32]float64{}
		c[id] = m
	}
	for _, v := range vs {
		m[v.Index] += v.Value
		if m[v.Index] == 0 {
			delete(m, v.Index)
		}
	}
	if len(m) == 0 {
		delete(c, id)
	}
}

func (c counters) String() string {
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		idx := make([]uint32, 0, len(c[id]))
		for i := range c[id] {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		fmt.Fprintf(&b, "%s:", id)
		for _, i := range idx {
			fmt.Fprintf(&b, " %d=%v", i, c[id][i])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func contributionCounters(cs []graph.Contribution) counters {
	c := counters{}
	c.addContributions(cs)
	return c
}

// randomSummary makes a summary with a random graph, calls and flags.
func randomSummary(r *rand.Rand) *summary.Summary {
	s := &summary.Summary{Entry: -1}
	n := 1 + r.IntN(6)
	base := 1_700_000_000.0 + float64(r.IntN(600))
	call := func() summary.Call {
		start := base + r.Float64()*120
		c := summary.Call{ID: xrayid.SegmentID(r.Uint64()), Start: start, End: start + r.ExpFloat64()*0.2}
		switch r.IntN(8) {
		case 0:
			c.InProgress, c.End = true, 0
		case 1:
			c.Fault = true
		case 2:
			c.Error = true
		case 3:
			c.Error, c.Throttle = true, true
		case 4:
			c.Status = []int{200, 404, 429, 503}[r.IntN(4)]
		}
		return c
	}
	names := []string{"api", "orders", "items", "users"}
	types := []string{"", "AWS::Lambda", "AWS::DynamoDB::Table", "remote"}
	for i := range n {
		node := summary.Node{Name: names[r.IntN(len(names))], Type: types[r.IntN(len(types))], Inferred: r.IntN(3) == 0}
		node.Name += fmt.Sprint(i) // identities are unique within a trace
		node.Names = []string{node.Name}
		for range r.IntN(4) {
			node.Requests = append(node.Requests, call())
		}
		s.Nodes = append(s.Nodes, node)
	}
	s.Entry = 0
	s.Nodes[0].Root = true
	s.Edges = append(s.Edges, summary.Edge{From: -1, To: 0, Calls: slices.Clone(s.Nodes[0].Requests)})
	for range r.IntN(2 * n) {
		from, to := int32(r.IntN(n)), int32(r.IntN(n))
		e := summary.Edge{From: from, To: to, Link: r.IntN(10) == 0}
		if r.IntN(4) == 0 {
			e.Aliases = []string{"alias" + fmt.Sprint(r.IntN(3))}
		}
		for range 1 + r.IntN(3) {
			e.Calls = append(e.Calls, call())
		}
		s.Edges = append(s.Edges, e)
	}
	return s
}

func randomGroups(r *rand.Rand) []string {
	var g []string
	for _, name := range []string{"g1", "g2", "g3"} {
		if r.IntN(2) == 0 {
			g = append(g, name)
		}
	}
	return g
}

// Applying Diff(a, b) to the counters of a gives the counters of b, for
// random revisions, groups and orders.
func TestDiffProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		a := graph.Contributions(randomSummary(r), randomGroups(r))
		var b []graph.Contribution
		if i%5 != 0 {
			b = graph.Contributions(randomSummary(r), randomGroups(r))
		}
		if i%7 == 0 {
			a, b = nil, a
		}
		checkSorted(t, a)
		checkSorted(t, b)
		have := contributionCounters(a)
		have.addDeltas(t, graph.Diff(a, b))
		if want := contributionCounters(b); have.String() != want.String() {
			t.Fatalf("case %d: Diff does not turn a into b:\nhave\n%s\nwant\n%s", i, have, want)
		}
		if d := graph.Diff(b, b); len(d) != 0 {
			t.Fatalf("case %d: Diff(b, b) = %v", i, d)
		}
		// Shuffled input gives the same deltas.
		sa, sb := slices.Clone(a), slices.Clone(b)
		r.Shuffle(len(sa), func(x, y int) { sa[x], sa[y] = sa[y], sa[x] })
		r.Shuffle(len(sb), func(x, y int) { sb[x], sb[y] = sb[y], sb[x] })
		if fmt.Sprint(graph.Diff(sa, sb)) != fmt.Sprint(graph.Diff(a, b)) {
			t.Fatalf("case %d: Diff depends on input order", i)
		}
	}
}

// A chain of revisions, each diffed from the previous, sums to the last.
func TestDiffChain(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		have := counters{}
		var prev []graph.Contribution
		for range 10 {
			next := graph.Contributions(randomSummary(r), randomGroups(r))
			have.addDeltas(t, graph.Diff(prev, next))
			prev = next
		}
		if want := contributionCounters(prev); have.String() != want.String() {
			t.Fatalf("chain does not sum to the last revision:\nhave\n%s\nwant\n%s", have, want)
		}
	}
}

func checkSorted(t *testing.T, cs []graph.Contribution) {
	t.Helper()
	for i := range cs {
		if i > 0 {
			p, c := cs[i-1], cs[i]
			if p.Group > c.Group || p.Group == c.Group && (p.Minute > c.Minute || p.Minute == c.Minute && p.Key >= c.Key) {
				t.Fatalf("contributions not sorted and unique at %d: %+v then %+v", i, p, c)
			}
		}
		for k := 1; k < len(cs[i].Values); k++ {
			if cs[i].Values[k-1].Index >= cs[i].Values[k].Index {
				t.Fatalf("values not ascending: %v", cs[i].Values)
			}
		}
	}
}

// decode decodes documents ("$T" is the trace ID) as ingest would.
func decode(t testing.TB, id string, jsons ...string) []summary.Doc {
	t.Helper()
	dec := segment.NewDecoder(0)
	var out []summary.Doc
	for i, j := range jsons {
		segs, err := dec.Decode(nil, []byte(strings.ReplaceAll(j, "$T", id)))
		if err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, j)
		}
		for k := range segs {
			out = append(out, summary.Doc{Seg: &segs[k], Received: int64(i+1) * 1e6})
		}
	}
	return out
}

const testTrace = "1-66321300-0123456789abcdef01234567"

// Re-attribution through real summaries: the caller's view arrives first
// (an inferred node), then the callee's own segment replaces it; the callee
// starts in progress and completes later.
func TestReattribution(t *testing.T) {
	id := xrayid.MustParseTraceID(testTrace)
	caller := `{"trace_id":"$T","id":"00000000000000a1","name":"web","origin":"AWS::EC2::Instance","start_time":1714557600.1,"end_time":1714557600.9,
		"subsegments":[{"id":"00000000000000b1","name":"orders.internal","namespace":"remote","start_time":1714557600.2,"end_time":1714557600.8,
			"http":{"request":{"method":"GET","url":"http://orders.internal/x"},"response":{"status":200}}}]}`
	calleeOpen := `{"trace_id":"$T","id":"00000000000000a2","name":"orders","parent_id":"00000000000000b1","start_time":1714557600.25,"in_progress":true}`
	calleeDone := `{"trace_id":"$T","id":"00000000000000a2","name":"orders","parent_id":"00000000000000b1","start_time":1714557600.25,"end_time":1714557660.75,"fault":true}`

	revs := [][]string{{caller}, {caller, calleeOpen}, {caller, calleeOpen, calleeDone}}
	have := counters{}
	var prev []graph.Contribution
	var sums []*summary.Summary
	for i, docs := range revs {
		s := summary.Build(id, decode(t, testTrace, docs...), uint32(i))
		sums = append(sums, s)
		next := graph.Contributions(s, []string{"g"})
		have.addDeltas(t, graph.Diff(prev, next))
		prev = next
	}
	if want := contributionCounters(prev); have.String() != want.String() {
		t.Fatalf("counters after re-attribution:\nhave\n%s\nwant\n%s", have, want)
	}
	var a graph.Aggregator
	for id, m := range have {
		if !strings.HasPrefix(id, `""/`) {
			continue
		}
		var minute int64
		var key string
		parts := strings.SplitN(id, "/", 3)
		fmt.Sscan(parts[1], &minute)
		fmt.Sscanf(parts[2], "%q", &key)
		var vs []store.Counter
		for i, v := range m {
			vs = append(vs, store.Counter{Index: i, Value: v})
		}
		slices.SortFunc(vs, func(x, y store.Counter) int { return int(x.Index) - int(y.Index) })
		a.Add(store.GraphRow{Minute: minute, Key: key, Values: vs})
	}
	got := render(a.Services(0, 2e9))
	// Histogram values are bucketed (within 2 %).
	want := `0 web/client unknown names=[web]
  -> 2 (web/AWS::EC2::Instance) ok=1 err=0 thr=0 fault=0 rt=0.8 hist=[0.793x1]
1 orders/ active names=[orders orders.internal] stats ok=0 err=0 thr=0 fault=1 rt=60.5 hist=[60.2x1] dur=[60.2x1]
2 web/AWS::EC2::Instance root active names=[web] stats ok=1 err=0 thr=0 fault=0 rt=0.8 hist=[0.793x1] dur=[60.2x1]
  -> 1 (orders/) ok=1 err=0 thr=0 fault=0 rt=0.6 hist=[0.6x1] aliases=[orders.internal]
`
	if got != want {
		t.Fatalf("graph after re-attribution:\n%s\nwant\n%s", got, want)
	}
	// The trace graph of the last revision agrees, with exact values.
	want = strings.NewReplacer("hist=[60.2x1] dur=[60.2x1]", "hist=[60.5x1] dur=[60.5x1]", "hist=[0.793x1] dur=[60.2x1]", "hist=[0.8x1] dur=[60.65x1]",
		"hist=[0.793x1]", "hist=[0.8x1]").Replace(want)
	if got := render(graph.TraceGraph(sums[2:])); got != want {
		t.Fatalf("trace graph:\n%s\nwant\n%s", got, want)
	}
}

// render prints a graph compactly for comparisons.
func render(svcs []graph.Service) string {
	var b strings.Builder
	stats := func(s graph.Stats) string {
		return fmt.Sprintf("ok=%d err=%d thr=%d fault=%d rt=%.6g", s.OK, s.ErrorOther, s.Throttle, s.Fault, s.ResponseTime)
	}
	hist := func(h []graph.HistogramEntry) string {
		var parts []string
		for _, e := range h {
			parts = append(parts, fmt.Sprintf("%.6gx%d", e.Value, e.Count))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	for _, s := range svcs {
		fmt.Fprintf(&b, "%d %s/%s", s.ReferenceID, s.Name, s.Type)
		if s.AccountID != "" {
			fmt.Fprintf(&b, "/%s", s.AccountID)
		}
		if s.Root {
			b.WriteString(" root")
		}
		fmt.Fprintf(&b, " %s names=%v", s.State, s.Names)
		if s.Stats != nil {
			fmt.Fprintf(&b, " stats %s hist=%s dur=%s", stats(*s.Stats), hist(s.ResponseTimeHistogram), hist(s.DurationHistogram))
		}
		if s.InProgress > 0 {
			fmt.Fprintf(&b, " inprogress=%d", s.InProgress)
		}
		b.WriteByte('\n')
		for _, e := range s.Edges {
			to := svcs[e.ReferenceID]
			fmt.Fprintf(&b, "  -> %d (%s/%s) %s hist=%s", e.ReferenceID, to.Name, to.Type, stats(e.Stats), hist(e.ResponseTimeHistogram))
			if e.Link {
				b.WriteString(" link")
			}
			if len(e.Aliases) > 0 {
				var als []string
				for _, a := range e.Aliases {
					als = append(als, a.Name)
				}
				fmt.Fprintf(&b, " aliases=%v", als)
			}
			if e.InProgress > 0 {
				fmt.Fprintf(&b, " inprogress=%d", e.InProgress)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestMergeDeltas(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		var ds []store.GraphDelta
		for range r.IntN(20) {
			ds = append(ds, graph.Diff(nil, graph.Contributions(randomSummary(r), randomGroups(r)))...)
			if r.IntN(3) == 0 {
				ds = append(ds, graph.Diff(graph.Contributions(randomSummary(r), nil), nil)...)
			}
		}
		want := counters{}
		want.addDeltas(t, ds)
		merged := graph.MergeDeltas(slices.Clone(ds))
		have := counters{}
		have.addDeltas(t, merged)
		if have.String() != want.String() {
			t.Fatalf("merged deltas sum differently:\n%s\nwant\n%s", have, want)
		}
		for i := 1; i < len(merged); i++ {
			p, c := merged[i-1], merged[i]
			if p.Group > c.Group || p.Group == c.Group && (p.Minute > c.Minute || p.Minute == c.Minute && p.Key >= c.Key) {
				t.Fatalf("not sorted and unique at %d", i)
			}
		}
	}
}
