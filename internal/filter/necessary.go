package filter

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
)

// ConditionKind says what a Condition requires of a trace.
type ConditionKind uint8

const (
	// CondNode: some node of the trace matches Node.
	CondNode ConditionKind = iota + 1
	// CondEdge: some edge goes from a node matching Node (or from the
	// client, when Node.MatchClient) to a node matching To.
	CondEdge
	// CondAnnotation: the trace has annotation Annotation.Key; when
	// Annotation.Type is set, with that value (of that type).
	CondAnnotation
	// CondUser: the trace has user Text; any user when Text is empty.
	CondUser
	// CondFlag: the trace-level Flag is Want.
	CondFlag
	// CondRange: Field (a number) is in Min..Max, excluding an end when
	// MinOpen or MaxOpen. An absent http.status counts as 0 here.
	CondRange
	// CondString: Field (an http string) equals Text, or begins with it
	// when Prefix.
	CondString
)

// Flag is a trace-level boolean, as Summary has it.
type Flag uint8

const (
	FlagOK       Flag = iota + 1 // !HasFault && !HasError
	FlagError                    // HasError
	FlagFault                    // HasFault
	FlagThrottle                 // HasThrottle
	FlagPartial                  // IsPartial
	FlagInferred                 // HasInferred
)

// Field is a trace-level number or string, as Summary has it.
type Field uint8

const (
	FieldResponseTime  Field = iota + 1 // ResponseTime
	FieldDuration                       // Duration
	FieldHTTPStatus                     // HTTP.Status
	FieldHTTPURL                        // HTTP.URL
	FieldHTTPMethod                     // HTTP.Method
	FieldHTTPUserAgent                  // HTTP.UserAgent
	FieldHTTPClientIP                   // HTTP.ClientIP
)

// Condition is something every trace matching an expression has, for a
// query planner that picks indexes and skips traces without knowing the
// syntax tree. Fields that Kind does not mention are zero.
type Condition struct {
	Kind       ConditionKind
	Node, To   NodeRef
	Annotation segment.Annotation
	Flag       Flag
	Want       bool
	Field      Field
	Min, Max   float64
	MinOpen    bool
	MaxOpen    bool
	Text       string
	Prefix     bool
}

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
			out := []Condition{{Kind: CondEdge, Node: n.from.NodeRef, To: n.to.NodeRef}, {Kind: CondNode, Node: n.to.NodeRef}}
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
	case sc == scTrace && (o == opEq || o == opBeginsWith):
		if f, ok := fieldOf[kw]; ok {
			return []Condition{{Kind: CondString, Field: f, Text: n.str, Prefix: o == opBeginsWith}}
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
	if block != nil {
		for _, c := range necessary(block, false, scNode) {
			if c.Kind != CondNode {
				rest = append(rest, c)
				continue
			}
			switch {
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
	return append([]Condition{{Kind: CondNode, Node: r}}, rest...)
}

// Holds reports whether s meets c. A trace for which it is false does not
// match the expression c came from.
func (c Condition) Holds(s *summary.Summary) bool {
	switch c.Kind {
	case CondNode:
		for i := range s.Nodes {
			if c.Node.Match(&s.Nodes[i]) {
				return true
			}
		}
	case CondEdge:
		for i := range s.Edges {
			e := &s.Edges[i]
			to := nodeAt(s, e.To)
			if to == nil || !c.To.Match(to) {
				continue
			}
			if from := nodeAt(s, e.From); e.From == -1 && c.Node.MatchClient(to) || from != nil && c.Node.Match(from) {
				return true
			}
		}
	case CondAnnotation:
		for i := range s.Annotations {
			a := &s.Annotations[i]
			if a.Key == c.Annotation.Key && (c.Annotation.Type == 0 || sameValue(&a.Value, &c.Annotation)) {
				return true
			}
		}
	case CondUser:
		for i := range s.Users {
			if name := s.Users[i].Name; name != "" && (c.Text == "" || name == c.Text) {
				return true
			}
		}
	case CondFlag:
		if c.Flag < Flag(len(keywordOfFlag)) {
			sc := scope{kind: scTrace, s: s}
			return sc.flag(keywordOfFlag[c.Flag]) == c.Want
		}
	case CondRange:
		v := c.value(s)
		return (v > c.Min || !c.MinOpen && v == c.Min) && (v < c.Max || !c.MaxOpen && v == c.Max)
	case CondString:
		v := c.text(s)
		return v == c.Text || c.Prefix && strings.HasPrefix(v, c.Text)
	}
	return false
}

func sameValue(a, b *segment.Annotation) bool {
	return a.Type == b.Type && a.String == b.String && a.Number == b.Number && a.Bool == b.Bool
}

func (c Condition) value(s *summary.Summary) float64 {
	switch c.Field {
	case FieldResponseTime:
		return s.ResponseTime
	case FieldDuration:
		return s.Duration
	}
	return float64(s.HTTP.Status)
}

func (c Condition) text(s *summary.Summary) string {
	switch c.Field {
	case FieldHTTPURL:
		return s.HTTP.URL
	case FieldHTTPMethod:
		return s.HTTP.Method
	case FieldHTTPUserAgent:
		return s.HTTP.UserAgent
	}
	return s.HTTP.ClientIP
}

// String renders c for logs and tests.
func (c Condition) String() string {
	switch c.Kind {
	case CondNode:
		return "node " + c.Node.String()
	case CondEdge:
		return "edge " + c.Node.String() + " -> " + c.To.String()
	case CondAnnotation:
		if c.Annotation.Type == 0 {
			return "annotation " + c.Annotation.Key
		}
		n := &node{key: c.Annotation.Key, typ: tyString, str: c.Annotation.String}
		switch c.Annotation.Type {
		case segment.AnnotationNumber:
			n.typ, n.num = tyNumber, c.Annotation.Number
		case segment.AnnotationBool:
			n.typ, n.b = tyBool, c.Annotation.Bool
		}
		var b strings.Builder
		printValue(&b, n)
		return "annotation " + c.Annotation.Key + " = " + b.String()
	case CondUser:
		return "user " + quoteString(c.Text)
	case CondFlag:
		return fmt.Sprintf("%s = %t", flagNames[c.Flag], c.Want)
	case CondRange:
		lo, hi := "[", "]"
		if c.MinOpen {
			lo = "("
		}
		if c.MaxOpen {
			hi = ")"
		}
		return fmt.Sprintf("%s in %s%s, %s%s", fieldNames[c.Field], lo, formatNumber(c.Min), formatNumber(c.Max), hi)
	case CondString:
		o := "="
		if c.Prefix {
			o = "BEGINSWITH"
		}
		return fmt.Sprintf("%s %s %s", fieldNames[c.Field], o, quoteString(c.Text))
	}
	return "invalid condition"
}

var (
	flagNames  = [...]string{FlagOK: "ok", FlagError: "error", FlagFault: "fault", FlagThrottle: "throttle", FlagPartial: "partial", FlagInferred: "inferred"}
	fieldNames = [...]string{FieldResponseTime: "responsetime", FieldDuration: "duration", FieldHTTPStatus: "http.status",
		FieldHTTPURL: "http.url", FieldHTTPMethod: "http.method", FieldHTTPUserAgent: "http.useragent", FieldHTTPClientIP: "http.clientip"}
)

// String renders r as id(...) with the fields that are set, or "any".
func (r NodeRef) String() string {
	if r.IsZero() {
		return "any"
	}
	var b strings.Builder
	ref{NodeRef: r, id: true}.print(&b)
	return b.String()
}
