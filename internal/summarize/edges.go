package summarize

import (
	"bytes"
	"slices"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// edgeFields are the edges of SummaryFields (store.SummaryFields.Edges):
// for each edge between two services, every pair of names the caller and
// the callee are matched by (filter.NodeRef: a node's Name and Names), with
// the flags of the edge's calls; one entry per pair, flags or'ed. Edges
// from the client are left out (edge() names the client only with a type,
// which the push-down does not use).
func edgeFields(sum *summary.Summary) []store.EdgeField {
	// The keys are built in one buffer and share one string: a summary
	// has a few dozen of them, written on every revision.
	type span struct {
		lo, hi int
		fl     store.EdgeFlags
	}
	var buf []byte
	var spans []span
	for i := range sum.Edges {
		e := &sum.Edges[i]
		from, to := nodeAt(sum, e.From), nodeAt(sum, e.To)
		if from == nil || to == nil {
			continue
		}
		fl := flagsOf(e.Error, e.Fault, e.Throttle)
		for fi := -1; fi < len(from.Names); fi++ {
			a, ok := nameAt(from, fi)
			if !ok {
				continue
			}
			for ti := -1; ti < len(to.Names); ti++ {
				b, ok := nameAt(to, ti)
				if !ok {
					continue
				}
				lo := len(buf)
				buf = append(append(append(buf, a...), store.EdgeKey("", "")...), b...)
				k := buf[lo:]
				if at := slices.IndexFunc(spans, func(x span) bool { return bytes.Equal(buf[x.lo:x.hi], k) }); at >= 0 {
					spans[at].fl |= fl
					buf = buf[:lo]
					continue
				}
				spans = append(spans, span{lo, len(buf), fl})
			}
		}
	}
	if len(spans) == 0 {
		return nil
	}
	keys := string(buf)
	out := make([]store.EdgeField, len(spans))
	for i, sp := range spans {
		out[i] = store.EdgeField{Key: keys[sp.lo:sp.hi], Flags: sp.fl}
	}
	return out
}

// serviceFlags are the flags of SummaryFields' services
// (store.SummaryFields.ServiceFlags): for each name a node with a flag is
// matched by (its Name and Names, as service() matches them), the or of
// those nodes' flags. Most nodes have none: the list is short.
func serviceFlags(sum *summary.Summary) []store.ServiceFlag {
	var out []store.ServiceFlag
	for i := range sum.Nodes {
		n := &sum.Nodes[i]
		fl := flagsOf(n.Error, n.Fault, n.Throttle)
		if fl == 0 {
			continue
		}
		for j := -1; j < len(n.Names); j++ {
			name, ok := nameAt(n, j)
			if !ok {
				continue
			}
			if at := slices.IndexFunc(out, func(s store.ServiceFlag) bool { return s.Name == name }); at >= 0 {
				out[at].Flags |= fl
				continue
			}
			out = append(out, store.ServiceFlag{Name: name, Flags: fl})
		}
	}
	return out
}

// flagsOf is the EdgeFlags of an error, a fault and a throttle.
func flagsOf(err, fault, throttle bool) store.EdgeFlags {
	var fl store.EdgeFlags
	if err {
		fl |= store.EdgeError
	}
	if fault {
		fl |= store.EdgeFault
	}
	if throttle {
		fl |= store.EdgeThrottle
	}
	return fl
}

// nameAt is a name node n is matched by: its Name for i = -1, else
// Names[i] unless that is its Name (ok false: already given).
func nameAt(n *summary.Node, i int) (string, bool) {
	if i < 0 {
		return n.Name, true
	}
	return n.Names[i], n.Names[i] != n.Name
}

func nodeAt(s *summary.Summary, i int32) *summary.Node {
	if i < 0 || int(i) >= len(s.Nodes) {
		return nil
	}
	return &s.Nodes[i]
}

// pushesEdges reports whether st uses SummaryFields.Edges (store.PushDown
// of store.FieldEdge); building them costs ~10 % of a summary's time, for
// nothing on a store that does not.
func pushesEdges(st Reader) bool { return pushes(st, store.FieldEdge) }

// pushes reports whether st pushes conditions on f down (store.PushDown).
func pushes(st Reader, f store.Field) bool {
	pd, ok := st.(store.PushDown)
	return ok && pd.PushesDown(f)
}
