package filter

import (
	"math"
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
)

// Necessary returns conditions that every trace matching e meets: those of
// the terms of the top-level AND chain, through negations (De Morgan), group
// references and blocks, plus those common to every branch of an OR. It is
// sound, not complete: a trace that fails one of them does not match e,
// while a trace that meets them all may not match either.
func (e *Expr) Necessary() []Condition {
	if e.root == nil {
		return nil
	}
	var out []Condition
	for _, c := range necessary(e.root, false, scTrace) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// necessary returns conditions implied by n (by !n when neg) evaluated in
// scope sc. In a node scope the conditions describe that node, or values it
// set, which the trace then has too.
func necessary(n *node, neg bool, sc scopeKind) []Condition {
	switch n.kind {
	case kAnd, kOr:
		if (n.kind == kAnd) != neg { // every operand holds
			var all []Condition
			for _, k := range n.kids {
				all = append(all, necessary(k, neg, sc)...)
			}
			return all
		}
		common := necessary(n.kids[0], neg, sc) // one operand holds
		for _, k := range n.kids[1:] {
			other := necessary(k, neg, sc)
			common = slices.DeleteFunc(common, func(c Condition) bool { return !slices.Contains(other, c) })
		}
		return common
	case kNot:
		return necessary(n.kids[0], !neg, sc)
	case kGroup:
		return necessary(n.kids[0], neg != (n.op == opNe), sc)
	case kBool:
		if sc == scTrace {
			return []Condition{{Kind: CondFlag, Flag: flagOf[n.kw], Want: n.b != neg}}
		}
		// service(x) { fault }: the node itself has the flag, which is what
		// a per-node flag index finds.
		// In an edge's block, the edge had it (kEdge takes it).
		if f := flagOf[n.kw]; (sc == scNode || sc == scEdge) && n.b != neg && (f == FlagError || f == FlagFault || f == FlagThrottle) {
			return []Condition{{Kind: CondNode, NodeFlag: f}}
		}
	case kNum:
		if sc == scTrace {
			return numberCondition(n, neg)
		}
	case kStr:
		return stringCondition(n, neg, sc)
	case kAnn:
		switch {
		case !neg && n.op != opNe:
			c := Condition{Kind: CondAnnotation, Annotation: segment.Annotation{Key: n.key}}
			if n.op == opEq {
				c.Annotation = annotationValue(n)
			}
			return []Condition{c}
		case neg && n.op == opNe: // not "no value equals": some value equals
			return []Condition{{Kind: CondAnnotation, Annotation: annotationValue(n)}}
		}
	case kService:
		if !neg {
			return nodeConditions(n.from.NodeRef, n.block())
		}
	case kEdge:
		if !neg {
			out := []Condition{{Kind: CondEdge, Node: n.from.NodeRef, To: n.to.NodeRef, NodeFlag: edgeFlag(n.block())},
				{Kind: CondNode, Node: n.to.NodeRef}}
			if n.from.Type != "client" { // a real node, not the client
				out = append(out, Condition{Kind: CondNode, Node: n.from.NodeRef})
			}
			return out
		}
	}
	return nil
}

var (
	keywordOfFlag = [...]keyword{FlagOK: kwOK, FlagError: kwError, FlagFault: kwFault,
		FlagThrottle: kwThrottle, FlagPartial: kwPartial, FlagInferred: kwInferred}
	flagOf = func() map[keyword]Flag {
		m := map[keyword]Flag{}
		for f, kw := range keywordOfFlag {
			if kw != 0 {
				m[kw] = Flag(f)
			}
		}
		return m
	}()
)

var fieldOf = map[keyword]Field{
	kwResponseTime: FieldResponseTime, kwDuration: FieldDuration, kwHTTPStatus: FieldHTTPStatus,
	kwHTTPURL: FieldHTTPURL, kwHTTPMethod: FieldHTTPMethod,
	kwHTTPUserAgent: FieldHTTPUserAgent, kwHTTPClientIP: FieldHTTPClientIP,
}

// negated is the operator of !(x o v) for a value that is always present.
var negated = [...]op{opEq: opNe, opNe: opEq, opLt: opGe, opLe: opGt, opGt: opLe, opGe: opLt}

func numberCondition(n *node, neg bool) []Condition {
	o := n.op
	if neg {
		// An absent http.status fails every comparison but !=, so only
		// !(status != v) says something about it.
		if n.kw == kwHTTPStatus && o != opNe {
			return nil
		}
		o = negated[o]
	}
	c := Condition{Kind: CondRange, Field: fieldOf[n.kw], Min: math.Inf(-1), Max: math.Inf(1)}
	switch o {
	case opEq:
		c.Min, c.Max = n.num, n.num
	case opLt, opLe:
		c.Max, c.MaxOpen = n.num, o == opLt
	case opGt, opGe:
		c.Min, c.MinOpen = n.num, o == opGt
	default:
		return nil
	}
	return []Condition{c}
}

func stringCondition(n *node, neg bool, sc scopeKind) []Condition {
	o := n.op
	switch {
	case neg && o == opNe: // not "no value equals": some value equals
		o = opEq
	case neg || o == opNe:
		return nil
	}
	switch kw := n.kw; {
	case kw == kwUser:
		c := Condition{Kind: CondUser}
		if o == opEq {
			c.Text = n.str
		}
		return []Condition{c}
	case sc == scTrace && (o == opEq || o == opBeginsWith || o == opContains):
		if f, ok := fieldOf[kw]; ok {
			return []Condition{{Kind: CondString, Field: f, Text: n.str, Prefix: o == opBeginsWith, Contains: o == opContains}}
		}
	case sc == scNode && o == opEq:
		switch kw {
		case kwName:
			return []Condition{{Kind: CondNode, Node: NodeRef{Name: n.str}}}
		case kwType:
			return []Condition{{Kind: CondNode, Node: NodeRef{Type: n.str}}}
		case kwAccountID:
			return []Condition{{Kind: CondNode, Node: NodeRef{AccountID: n.str}}}
		}
	}
	return nil
}

func annotationValue(n *node) segment.Annotation {
	a := segment.Annotation{Key: n.key}
	switch n.typ {
	case tyString:
		a.Type, a.String = segment.AnnotationString, n.str
	case tyNumber:
		a.Type, a.Number = segment.AnnotationNumber, n.num
	case tyBool:
		a.Type, a.Bool = segment.AnnotationBool, n.b
	}
	return a
}

// nodeConditions: the node service(r) { block } finds exists, with every
// identity the block requires of it when r leaves that field open; the
// block's other conditions stand on their own.
func nodeConditions(r NodeRef, block *node) []Condition {
	var rest []Condition
	var flag Flag
	if block != nil {
		for _, c := range necessary(block, false, scNode) {
			if c.Kind != CondNode {
				rest = append(rest, c)
				continue
			}
			switch {
			case c.NodeFlag != 0 && flag == 0:
				flag = c.NodeFlag
			case c.Node.Name != "" && r.Name == "":
				r.Name = c.Node.Name
			case c.Node.Type != "" && r.Type == "":
				r.Type = c.Node.Type
			case c.Node.AccountID != "" && r.AccountID == "":
				r.AccountID = c.Node.AccountID
			default:
				rest = append(rest, c)
			}
		}
	}
	return append([]Condition{{Kind: CondNode, Node: r, NodeFlag: flag}}, rest...)
}

// edgeFlag is a flag (FlagError, FlagFault, FlagThrottle) the edge an
// edge block finds must have had, or 0. The block's other conditions
// are about the edge, not the trace, and are left out.
func edgeFlag(block *node) Flag {
	if block == nil {
		return 0
	}
	for _, c := range necessary(block, false, scEdge) {
		if c.Kind == CondNode && c.NodeFlag != 0 && c.Node.IsZero() {
			return c.NodeFlag
		}
	}
	return 0
}
