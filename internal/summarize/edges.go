package summarize

import (
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
	var out []store.EdgeField
	for i := range sum.Edges {
		e := &sum.Edges[i]
		from, to := nodeAt(sum, e.From), nodeAt(sum, e.To)
		if from == nil || to == nil {
			continue
		}
		var fl store.EdgeFlags
		if e.Error {
			fl |= store.EdgeError
		}
		if e.Fault {
			fl |= store.EdgeFault
		}
		if e.Throttle {
			fl |= store.EdgeThrottle
		}
		for _, a := range nodeNames(from) {
			for _, b := range nodeNames(to) {
				k := store.EdgeKey(a, b)
				if j := slices.IndexFunc(out, func(x store.EdgeField) bool { return x.Key == k }); j >= 0 {
					out[j].Flags |= fl
					continue
				}
				out = append(out, store.EdgeField{Key: k, Flags: fl})
			}
		}
	}
	return out
}

// nodeNames are the names a node is matched by: its Name, then its other
// Names.
func nodeNames(n *summary.Node) []string {
	names := []string{n.Name}
	for _, s := range n.Names {
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return names
}

func nodeAt(s *summary.Summary, i int32) *summary.Node {
	if i < 0 || int(i) >= len(s.Nodes) {
		return nil
	}
	return &s.Nodes[i]
}
