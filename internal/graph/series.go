package graph

import (
	"cmp"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// Selector picks the nodes, or the edges, whose counters a Series sums
// (filter.EntitySelector provides both functions).
type Selector struct {
	// Edges selects edges with Edge; otherwise nodes with Node.
	Edges bool
	Node  func(n *summary.Node) bool
	// Edge gets a nil from for the calls from a client into a trace.
	Edge func(from, to *summary.Node) bool
}

// ClientEdges selects the edges from client nodes: each trace's entry
// request, once.
var ClientEdges = Selector{Edges: true, Edge: func(from, _ *summary.Node) bool { return from == nil }}

// Point is the statistics of one period.
type Point struct {
	// Start is the period's start, Unix seconds (a multiple of the period).
	Start                 int64
	Stats                 Stats
	ResponseTimeHistogram []HistogramEntry
}

// Series sums the counters a Selector picks into periods. It is not safe
// for concurrent use.
type Series struct {
	sel    Selector
	period int64
	picked map[string]bool
	points map[int64]*acc
	// Unreadable counts rows whose key could not be decoded (skipped).
	Unreadable int
}

// NewSeries returns a Series of periods of the given length in seconds (a
// positive multiple of 60).
func NewSeries(sel Selector, periodSeconds int64) *Series {
	return &Series{sel: sel, period: max(periodSeconds, 60), picked: map[string]bool{}, points: map[int64]*acc{}}
}

// Add adds one row if the selector picks its key.
func (s *Series) Add(r store.GraphRow) {
	picked, ok := s.picked[r.Key]
	if !ok {
		k, err := ParseKey(r.Key)
		if err != nil {
			s.Unreadable++
			s.picked[strings.Clone(r.Key)] = false
			return
		}
		picked = s.pick(&k)
		s.picked[strings.Clone(r.Key)] = picked
	}
	if !picked {
		return
	}
	p := floorDiv(r.Minute*60, s.period) * s.period
	a := s.points[p]
	if a == nil {
		a = &acc{}
		s.points[p] = a
	}
	a.add(r.Minute, r.Values)
}

func (s *Series) pick(k *Key) bool {
	node := func(id NodeID) *summary.Node {
		return &summary.Node{Name: id.Name, Names: []string{id.Name}, Type: id.Type, AccountID: id.AccountID}
	}
	if !s.sel.Edges {
		return !k.Edge && s.sel.Node != nil && s.sel.Node(node(k.Node))
	}
	if !k.Edge || s.sel.Edge == nil {
		return false
	}
	to := node(k.To)
	to.Names = append(to.Names, k.Aliases...)
	if k.From.IsClient() {
		return s.sel.Edge(nil, to)
	}
	return s.sel.Edge(node(k.From), to)
}

// Points returns the periods with completed requests, oldest first.
func (s *Series) Points() []Point {
	out := make([]Point, 0, len(s.points))
	for start, a := range s.points {
		st := a.stats()
		if st.Total() == 0 {
			continue
		}
		out = append(out, Point{Start: start, Stats: st, ResponseTimeHistogram: histogram(a.rt)})
	}
	slices.SortFunc(out, func(a, b Point) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
