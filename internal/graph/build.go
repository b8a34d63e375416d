package graph

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
)

// Stats are the statistics of a node (server view) or an edge (caller
// view): X-Ray's ServiceStatistics and EdgeStatistics.
type Stats struct {
	OK, ErrorOther, Throttle, Fault int64
	// ResponseTime is the sum of response times, seconds.
	ResponseTime float64
}

// Total is the number of completed requests.
func (s Stats) Total() int64 { return s.OK + s.ErrorOther + s.Throttle + s.Fault }

// Errors is the number of errors, throttles included (X-Ray's
// ErrorStatistics.TotalCount).
func (s Stats) Errors() int64 { return s.ErrorOther + s.Throttle }

// HistogramEntry is one bar of a histogram: Count values near Value
// (seconds).
type HistogramEntry struct {
	Value float64
	Count int64
}

// Alias is a name a caller used for an edge's callee.
type Alias struct {
	Name  string
	Names []string
	Type  string
}

// Service is one node of a service graph: X-Ray's Service.
type Service struct {
	// ReferenceID is unique within the graph: services are numbered in
	// the order of (client nodes first, Name, Type, AccountID).
	ReferenceID int32
	NodeID
	// Names are every name the node is known by, Name first.
	Names []string
	// Root is set for entry-point services (called by a client node).
	Root bool
	// State is "active" for services that sent segments, "unknown" for
	// client and inferred nodes.
	State string
	// Start and End bound the node's requests in the window (seconds).
	// From counters they are the bounds of the minutes with requests,
	// clipped to the window.
	Start, End float64
	// Stats is nil for client nodes.
	Stats *Stats
	// InProgress counts requests still running (not in Stats).
	InProgress                               int64
	ResponseTimeHistogram, DurationHistogram []HistogramEntry
	Edges                                    []Edge
}

// Edge is a service's calls to another.
type Edge struct {
	// ReferenceID is the callee's.
	ReferenceID           int32
	Start, End            float64
	Stats                 Stats
	InProgress            int64
	ResponseTimeHistogram []HistogramEntry
	// ReceivedEventAgeHistogram is set on link edges: how long events
	// waited between the producer's call and the consumer's request.
	ReceivedEventAgeHistogram []HistogramEntry
	Aliases                   []Alias
	// Link marks an asynchronous link (X-Ray's EdgeType "link").
	Link bool
}

// States of a Service.
const (
	StateActive  = "active"
	StateUnknown = "unknown"
)

// acc sums the counters of one key.
type acc struct {
	key  Key
	base [numBase]float64
	// Dense histogram buckets, nil until needed: response times, and the
	// requests whose duration bucket differs (durIn by duration, durOut
	// by response time).
	rt, durIn, durOut []float64
	// age are link edges' received-event ages by bucket.
	age        []float64
	first, end int64 // minutes with counts: [first, end)
	// shared is set on a copy whose histograms are still the original's.
	shared bool
}

func (a *acc) add(minute int64, values []store.Counter) {
	if a.end == 0 && a.first == 0 {
		a.first, a.end = minute, minute+1
	} else {
		a.first, a.end = min(a.first, minute), max(a.end, minute+1)
	}
	for _, c := range values {
		switch {
		case c.Index < numBase:
			a.base[c.Index] += c.Value
		case c.Index >= IdxResponseTimeHist && c.Index < IdxResponseTimeHist+NumBuckets:
			if a.rt == nil {
				a.rt = make([]float64, NumBuckets)
			}
			a.rt[c.Index-IdxResponseTimeHist] += c.Value
		case c.Index >= IdxDurationHist && c.Index < IdxDurationHist+NumBuckets:
			if a.durIn == nil {
				a.durIn = make([]float64, NumBuckets)
			}
			a.durIn[c.Index-IdxDurationHist] += c.Value
		case c.Index >= IdxEventAgeHist && c.Index < IdxEventAgeHist+NumBuckets:
			if a.age == nil {
				a.age = make([]float64, NumBuckets)
			}
			a.age[c.Index-IdxEventAgeHist] += c.Value
		case c.Index >= IdxDurationMovedFrom && c.Index < IdxDurationMovedFrom+NumBuckets:
			if a.durOut == nil {
				a.durOut = make([]float64, NumBuckets)
			}
			a.durOut[c.Index-IdxDurationMovedFrom] += c.Value
		}
		// Unknown indexes are from a newer version: ignored.
	}
}

func (a *acc) merge(b *acc) {
	if a.shared {
		a.rt, a.durIn, a.durOut, a.age, a.shared = slices.Clone(a.rt), slices.Clone(a.durIn), slices.Clone(a.durOut), slices.Clone(a.age), false
	}
	if a.end == 0 && a.first == 0 {
		a.first, a.end = b.first, b.end
	} else if b.end != 0 || b.first != 0 {
		a.first, a.end = min(a.first, b.first), max(a.end, b.end)
	}
	for i := range a.base {
		a.base[i] += b.base[i]
	}
	mergeDense(&a.rt, b.rt)
	mergeDense(&a.durIn, b.durIn)
	mergeDense(&a.durOut, b.durOut)
	mergeDense(&a.age, b.age)
}

func mergeDense(dst *[]float64, src []float64) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = make([]float64, NumBuckets)
	}
	for i, v := range src {
		(*dst)[i] += v
	}
}

func count(v float64) int64 { return max(int64(math.Round(v)), 0) }

func (a *acc) stats() Stats {
	return Stats{OK: count(a.base[IdxOK]), ErrorOther: count(a.base[IdxErrorOther]),
		Throttle: count(a.base[IdxThrottle]), Fault: count(a.base[IdxFault]),
		ResponseTime: float64(count(a.base[IdxResponseTimeUs])) / 1e6}
}

// empty reports whether no counter of a is positive (deltas may have
// taken everything away).
func (a *acc) empty() bool {
	for _, v := range a.base {
		if count(v) > 0 {
			return false
		}
	}
	return true
}

// durationHistogram is a node's response-time histogram with the requests
// whose duration is in another bucket moved there.
func (a *acc) durationHistogram() []HistogramEntry {
	if a.durIn == nil && a.durOut == nil {
		return histogram(a.rt)
	}
	d := make([]float64, NumBuckets)
	if a.rt != nil {
		copy(d, a.rt)
	}
	for b := range d {
		if a.durOut != nil {
			d[b] -= a.durOut[b]
		}
		if a.durIn != nil {
			d[b] += a.durIn[b]
		}
	}
	return histogram(d)
}

func histogram(dense []float64) []HistogramEntry {
	var out []HistogramEntry
	for b, v := range dense {
		if n := count(v); n > 0 {
			out = append(out, HistogramEntry{Value: BucketValue(uint32(b)), Count: n})
		}
	}
	return out
}

// Aggregator sums the counter rows of a time window into a service graph.
// The zero value is ready; it is not safe for concurrent use.
type Aggregator struct {
	keys map[string]*acc
	// Unreadable counts rows whose key could not be decoded (skipped).
	Unreadable int
}

// Add adds one row. It copies what it keeps, so the row may be reused.
func (g *Aggregator) Add(r store.GraphRow) {
	a, ok := g.keys[r.Key]
	if !ok {
		k, err := ParseKey(r.Key)
		if err != nil {
			g.Unreadable++
			return
		}
		k = cloneKey(k)
		a = &acc{key: k}
		if g.keys == nil {
			g.keys = make(map[string]*acc)
		}
		g.keys[strings.Clone(r.Key)] = a
	}
	a.add(r.Minute, r.Values)
}

func cloneKey(k Key) Key {
	c := func(n NodeID) NodeID {
		return NodeID{strings.Clone(n.Name), strings.Clone(n.Type), strings.Clone(n.AccountID)}
	}
	k.Node, k.From, k.To = c(k.Node), c(k.From), c(k.To)
	if k.Aliases != nil {
		als := make([]string, len(k.Aliases))
		for i, s := range k.Aliases {
			als[i] = strings.Clone(s)
		}
		k.Aliases = als
	}
	return k
}

type edgeID struct {
	from, to NodeID
	link     bool
}

// Services returns the graph of everything added, for the window
// [from, to) (seconds; node and edge times are clipped to it). Keys whose
// counters sum to nothing are left out.
func (g *Aggregator) Services(from, to float64) []Service {
	nodes := map[NodeID]*acc{}
	edges := map[edgeID]*acc{}
	aliases := map[edgeID][]string{}
	for _, a := range g.keys {
		if a.empty() {
			continue
		}
		if !a.key.Edge {
			if n, ok := nodes[a.key.Node]; ok {
				n.merge(a)
			} else {
				c := *a
				c.shared = true
				nodes[a.key.Node] = &c
			}
			continue
		}
		id := edgeID{a.key.From, a.key.To, a.key.Link}
		if e, ok := edges[id]; ok {
			e.merge(a)
		} else {
			c := *a
			c.shared = true
			edges[id] = &c
		}
		aliases[id] = append(aliases[id], a.key.Aliases...)
	}
	b := newBuilder()
	for id, n := range nodes {
		b.node(id).counters = n
	}
	for id, e := range edges {
		b.node(id.from)
		to := b.node(id.to)
		if id.from.IsClient() {
			to.root = true
		}
		als := normAliases(aliases[id])
		to.names = append(to.names, als...)
		b.edge(id).counters = e
		b.edge(id).aliases = als
	}
	return b.services(func(c *acc) (float64, float64) {
		if c == nil {
			return from, from
		}
		return max(from, float64(c.first*60)), min(to, float64(c.end*60))
	})
}

// builder assembles Services from nodes and edges with their counters
// (from an Aggregator) or their exact values (TraceGraph).
type builder struct {
	nodes map[NodeID]*bnode
	edges map[edgeID]*bedge
}

type bnode struct {
	id       NodeID
	names    []string
	root     bool
	sent     bool
	counters *acc
	exact    *exact
}

type bedge struct {
	id       edgeID
	aliases  []string
	counters *acc
	exact    *exact
}

func newBuilder() *builder {
	return &builder{nodes: map[NodeID]*bnode{}, edges: map[edgeID]*bedge{}}
}

func (b *builder) node(id NodeID) *bnode {
	n, ok := b.nodes[id]
	if !ok {
		n = &bnode{id: id}
		b.nodes[id] = n
	}
	return n
}

func (b *builder) edge(id edgeID) *bedge {
	e, ok := b.edges[id]
	if !ok {
		e = &bedge{id: id}
		b.edges[id] = e
	}
	return e
}

// compareNodes is the ReferenceId order: client nodes first, then by
// name, type and account.
func compareNodes(a, b NodeID) int {
	return cmp.Or(-cmpBool(a.IsClient(), b.IsClient()), cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Type, b.Type), cmp.Compare(a.AccountID, b.AccountID))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// services numbers the nodes and renders them. times gives the bounds of
// counter-based nodes and edges.
func (b *builder) services(times func(*acc) (float64, float64)) []Service {
	ids := make([]NodeID, 0, len(b.nodes))
	for id := range b.nodes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareNodes)
	ref := make(map[NodeID]int32, len(ids))
	for i, id := range ids {
		ref[id] = int32(i)
	}
	out := make([]Service, len(ids))
	for i, id := range ids {
		n := b.nodes[id]
		s := &out[i]
		s.ReferenceID, s.NodeID, s.Root = int32(i), id, n.root
		s.Names = append([]string{id.Name}, withoutName(normAliases(n.names), id.Name)...)
		s.State = StateUnknown
		switch {
		case n.counters != nil:
			c := n.counters
			if count(c.base[IdxSent]) > 0 {
				s.State = StateActive
			}
			s.Start, s.End = times(c)
			s.InProgress = count(c.base[IdxInProgress])
			if !id.IsClient() {
				st := c.stats()
				s.Stats = &st
				s.ResponseTimeHistogram, s.DurationHistogram = histogram(c.rt), c.durationHistogram()
			}
		case n.exact != nil:
			x := n.exact
			if n.sent {
				s.State = StateActive
			}
			s.Start, s.End = x.start, x.end
			s.InProgress = x.inProgress
			if !id.IsClient() {
				st := x.stats
				s.Stats = &st
				s.ResponseTimeHistogram, s.DurationHistogram = x.rt.entries(), x.dur.entries()
			}
		default:
			if !id.IsClient() {
				s.Stats = &Stats{}
			}
		}
	}
	edges := make([]*bedge, 0, len(b.edges))
	for _, e := range b.edges {
		edges = append(edges, e)
	}
	slices.SortFunc(edges, func(x, y *bedge) int {
		return cmp.Or(cmp.Compare(ref[x.id.from], ref[y.id.from]), cmp.Compare(ref[x.id.to], ref[y.id.to]), cmpBool(x.id.link, y.id.link))
	})
	for _, e := range edges {
		s := &out[ref[e.id.from]]
		ed := Edge{ReferenceID: ref[e.id.to], Link: e.id.link}
		switch {
		case e.counters != nil:
			c := e.counters
			ed.Start, ed.End = times(c)
			ed.Stats = c.stats()
			ed.InProgress = count(c.base[IdxInProgress])
			ed.ResponseTimeHistogram = histogram(c.rt)
			ed.ReceivedEventAgeHistogram = histogram(c.age)
		case e.exact != nil:
			x := e.exact
			ed.Start, ed.End, ed.Stats, ed.InProgress = x.start, x.end, x.stats, x.inProgress
			ed.ResponseTimeHistogram = x.rt.entries()
			ed.ReceivedEventAgeHistogram = x.age.entries()
		}
		for _, a := range withoutName(e.aliases, e.id.to.Name) {
			ed.Aliases = append(ed.Aliases, Alias{Name: a, Names: []string{a}, Type: e.id.to.Type})
		}
		s.Edges = append(s.Edges, ed)
		// Nodes without data of their own (clients, callees known only
		// from their callers here) take the times of their edges.
		for _, r := range [2]int32{ref[e.id.from], ref[e.id.to]} {
			if n := b.nodes[ids[r]]; n.counters == nil && n.exact == nil && ed.End > 0 {
				if t := &out[r]; t.End == 0 {
					t.Start, t.End = ed.Start, ed.End
				} else {
					t.Start, t.End = min(t.Start, ed.Start), max(t.End, ed.End)
				}
			}
		}
	}
	return out
}

// withoutName returns the names other than name.
func withoutName(names []string, name string) []string {
	if !slices.Contains(names, name) {
		return names
	}
	return slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == name })
}
