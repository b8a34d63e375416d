package filter

import "github.com/counterspy/counterspy/internal/summary"

// matchService: some node matches the reference and its block.
func matchService(s *summary.Summary, n *node) bool {
	block := n.block()
	for i := range s.Nodes {
		nd := &s.Nodes[i]
		if !n.from.Match(nd) {
			continue
		}
		if block == nil {
			return true
		}
		in := scope{kind: scNode, s: s, node: nd, idx: int32(i)}
		if block.eval(&in) {
			return true
		}
	}
	return false
}

// matchEdge: some edge joins nodes matching the two references and
// satisfies the block.
func matchEdge(s *summary.Summary, n *node) bool {
	block := n.block()
	for i := range s.Edges {
		e := &s.Edges[i]
		to := nodeAt(s, e.To)
		if to == nil || !n.to.Match(to) {
			continue
		}
		if e.From == -1 {
			if !n.from.MatchClient(to) {
				continue
			}
		} else if from := nodeAt(s, e.From); from == nil || !n.from.Match(from) {
			continue
		}
		if block == nil {
			return true
		}
		in := scope{kind: scEdge, s: s, edge: e}
		if block.eval(&in) {
			return true
		}
	}
	return false
}

// nodeAt returns s.Nodes[i], or nil for an index out of range.
func nodeAt(s *summary.Summary, i int32) *summary.Node {
	if i < 0 || int(i) >= len(s.Nodes) {
		return nil
	}
	return &s.Nodes[i]
}

// matchRootCause: some element of some root cause of the list satisfies the
// block. Elements are enumerated per root cause (see the package comment).
func matchRootCause(s *summary.Summary, n *node) bool {
	block := n.block()
	in := scope{kind: scRCService, s: s}
	switch {
	case n.target == rcException:
		in.kind = scRCException
	case n.target == rcEntity && n.list == rcResponseTime:
		in.kind = scRCTimeEntity
	case n.target == rcEntity:
		in.kind = scRCEntity
	}
	rcs := rootCauses(s, n.list)
	for r := range rcs {
		svcs := rcs[r].Services
		total := countElements(svcs, n.target)
		in.index = 0
		for i := range svcs {
			in.svc = &svcs[i]
			if n.target == rcService {
				if in.visit(block, total) {
					return true
				}
				continue
			}
			path := svcs[i].EntityPath
			for j := range path {
				in.ent = &path[j]
				if n.target == rcEntity {
					if in.visit(block, total) {
						return true
					}
					continue
				}
				for k := range path[j].Exceptions {
					in.exc = &path[j].Exceptions[k]
					if in.visit(block, total) {
						return true
					}
				}
			}
		}
	}
	return false
}

// visit evaluates block on the element sc now holds, then moves the index
// on.
func (sc *scope) visit(block *node, total int) bool {
	sc.last = sc.index == total-1
	ok := block == nil || block.eval(sc)
	sc.index++
	return ok
}

// countElements counts the elements a root cause enumerates for a target.
func countElements(svcs []summary.RootCauseService, t rcTarget) int {
	if t == rcService {
		return len(svcs)
	}
	n := 0
	for i := range svcs {
		if t == rcEntity {
			n += len(svcs[i].EntityPath)
			continue
		}
		for j := range svcs[i].EntityPath {
			n += len(svcs[i].EntityPath[j].Exceptions)
		}
	}
	return n
}
