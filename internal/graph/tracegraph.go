package graph

import (
	"cmp"
	"slices"

	"github.com/counterspy/counterspy/internal/summary"
)

// exact holds the statistics of a node or an edge computed directly from
// requests or calls.
type exact struct {
	start, end float64
	seen       bool
	stats      Stats
	inProgress int64
	rt, dur    valueCounts
	age        valueCounts // link edges: received-event ages
}

// valueCounts counts values by whole microseconds.
type valueCounts map[int64]int64

func (v *valueCounts) add(us int64) {
	if *v == nil {
		*v = valueCounts{}
	}
	(*v)[us]++
}

// entries are the values in ascending order.
func (v valueCounts) entries() []HistogramEntry {
	if len(v) == 0 {
		return nil
	}
	out := make([]HistogramEntry, 0, len(v))
	for us, n := range v {
		out = append(out, HistogramEntry{Value: float64(us) / 1e6, Count: n})
	}
	slices.SortFunc(out, func(a, b HistogramEntry) int { return cmp.Compare(a.Value, b.Value) })
	return out
}

func (x *exact) call(c *summary.Call, dur float64, hasDur bool) {
	end := c.End
	if c.InProgress || end == 0 {
		end = c.Start
	}
	if !x.seen {
		x.start, x.end, x.seen = c.Start, end, true
	} else {
		x.start, x.end = min(x.start, c.Start), max(x.end, end)
	}
	if c.InProgress || c.End == 0 {
		x.inProgress++
		return
	}
	switch classIndex(c) {
	case IdxOK:
		x.stats.OK++
	case IdxErrorOther:
		x.stats.ErrorOther++
	case IdxThrottle:
		x.stats.Throttle++
	case IdxFault:
		x.stats.Fault++
	}
	rt := micros(c.End - c.Start)
	x.stats.ResponseTime += float64(rt) / 1e6
	x.rt.add(rt)
	if hasDur {
		x.dur.add(micros(dur))
	}
}

// TraceGraph is the service graph of a few traces (GetTraceGraph): the same
// model as from counters, computed from the summaries' nodes and edges,
// with exact (microsecond) histogram values and times.
func TraceGraph(sums []*summary.Summary) []Service {
	b := newBuilder()
	for _, s := range sums {
		if s == nil {
			continue
		}
		durs := Durations(s)
		ids := make([]NodeID, len(s.Nodes))
		for i := range s.Nodes {
			n := &s.Nodes[i]
			ids[i] = NodeID{Name: n.Name, Type: n.Type, AccountID: n.AccountID}
			bn := b.node(ids[i])
			bn.names = append(bn.names, n.Names...)
			bn.root = bn.root || n.Root
			bn.sent = bn.sent || !n.Inferred
			if bn.exact == nil {
				bn.exact = &exact{}
			}
			for j := range n.Requests {
				bn.exact.call(&n.Requests[j], durs[i][j], true)
			}
		}
		for i := range s.Edges {
			e := &s.Edges[i]
			if e.To < 0 || int(e.To) >= len(ids) || e.From >= int32(len(ids)) {
				continue
			}
			to := ids[e.To]
			from := NodeID{Name: to.Name, Type: ClientType}
			if e.From >= 0 {
				from = ids[e.From]
			} else {
				b.node(to).root = true
			}
			b.node(from)
			be := b.edge(edgeID{from, to, e.Link})
			be.aliases = normAliases(append(be.aliases, e.Aliases...))
			b.node(to).names = append(b.node(to).names, e.Aliases...)
			if be.exact == nil {
				be.exact = &exact{}
			}
			for j := range e.Calls {
				be.exact.call(&e.Calls[j], 0, false)
				if age, ok := EventAge(s, e, &e.Calls[j]); ok && e.Link {
					be.exact.age.add(micros(age))
				}
			}
		}
	}
	return b.services(nil)
}
