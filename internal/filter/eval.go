package filter

import (
	"strings"

	"github.com/counterspy/counterspy/internal/summary"
)

// Match reports whether the trace s summarizes satisfies e. It does not
// allocate: evaluation is one recursive method on concrete nodes, with the
// scope on the stack.
func (e *Expr) Match(s *summary.Summary) bool {
	if e.root == nil {
		return true
	}
	sc := scope{kind: scTrace, s: s}
	return e.root.eval(&sc)
}

// scope is what a term is evaluated against: the trace, or the element a
// block is iterating.
type scope struct {
	kind scopeKind
	s    *summary.Summary
	node *summary.Node // scNode
	idx  int32         // scNode: node's index in s.Nodes
	edge *summary.Edge // scEdge

	// Root-cause blocks: the element and its owners, its position in the
	// enumeration, and whether it is the last one.
	svc   *summary.RootCauseService
	ent   *summary.RootCauseEntity
	exc   *summary.RootCauseException
	index int
	last  bool
}

func (n *node) eval(sc *scope) bool {
	switch n.kind {
	case kAnd:
		for _, k := range n.kids {
			if !k.eval(sc) {
				return false
			}
		}
		return true
	case kOr:
		for _, k := range n.kids {
			if k.eval(sc) {
				return true
			}
		}
		return false
	case kNot:
		return !n.kids[0].eval(sc)
	case kTrue:
		return true
	case kGroup:
		return n.kids[0].eval(sc) == (n.op == opEq)
	case kBool:
		return sc.flag(n.kw) == n.b
	case kNum:
		v, ok := sc.number(n.kw)
		if n.op == opNe {
			return !ok || v != n.num
		}
		return ok && compareNumbers(n.op, v, n.num)
	case kStr:
		if n.op == opNe { // no value equals
			return !sc.anyString(n.kw, opEq, n.str)
		}
		return sc.anyString(n.kw, n.op, n.str)
	case kAnn:
		if n.op == opNe {
			return !sc.anyAnnotation(n, opEq)
		}
		return sc.anyAnnotation(n, n.op)
	case kService:
		return matchService(sc.s, n)
	case kEdge:
		return matchEdge(sc.s, n)
	case kRootCause:
		return matchRootCause(sc.s, n)
	case kJSON:
		return matchPattern(n.pattern, sc.s)
	}
	return false
}

func compareNumbers(o op, have, want float64) bool {
	switch o {
	case opEq:
		return have == want
	case opLt:
		return have < want
	case opLe:
		return have <= want
	case opGt:
		return have > want
	case opGe:
		return have >= want
	}
	return false
}

// compareStrings compares a present (non-empty) value; opExists holds for
// any.
func compareStrings(o op, have, want string) bool {
	switch o {
	case opExists:
		return true
	case opEq:
		return have == want
	case opContains:
		return strings.Contains(have, want)
	case opBeginsWith:
		return strings.HasPrefix(have, want)
	case opEndsWith:
		return strings.HasSuffix(have, want)
	case opLt:
		return have < want
	case opLe:
		return have <= want
	case opGt:
		return have > want
	case opGe:
		return have >= want
	}
	return false
}
