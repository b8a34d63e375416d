package filter

import (
	"fmt"
	"strings"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
)

// ConditionKind says what a Condition requires of a trace.
type ConditionKind uint8

const (
	// CondNode: some node of the trace matches Node (and, when NodeFlag is
	// set, had a request with that flag: FlagError, FlagFault or
	// FlagThrottle).
	CondNode ConditionKind = iota + 1
	// CondEdge: some edge goes from a node matching Node (or from the
	// client, when Node.MatchClient) to a node matching To (and, when
	// NodeFlag is set, had a call with that flag: FlagError, FlagFault or
	// FlagThrottle).
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
	// CondString: Field (an http string) equals Text, begins with it when
	// Prefix, or contains it when Contains.
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
	NodeFlag   Flag
	Annotation segment.Annotation
	Flag       Flag
	Want       bool
	Field      Field
	Min, Max   float64
	MinOpen    bool
	MaxOpen    bool
	Text       string
	Prefix     bool
	Contains   bool
}

// Holds reports whether s meets c. A trace for which it is false does not
// match the expression c came from.
func (c Condition) Holds(s *summary.Summary) bool {
	switch c.Kind {
	case CondNode:
		for i := range s.Nodes {
			if n := &s.Nodes[i]; c.Node.Match(n) && nodeHasFlag(n, c.NodeFlag) {
				return true
			}
		}
	case CondEdge:
		for i := range s.Edges {
			e := &s.Edges[i]
			to := nodeAt(s, e.To)
			if to == nil || !c.To.Match(to) || !edgeHasFlag(e, c.NodeFlag) {
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
		return v == c.Text || c.Prefix && strings.HasPrefix(v, c.Text) || c.Contains && strings.Contains(v, c.Text)
	}
	return false
}

func nodeHasFlag(n *summary.Node, f Flag) bool {
	switch f {
	case FlagError:
		return n.Error
	case FlagFault:
		return n.Fault
	case FlagThrottle:
		return n.Throttle
	}
	return true
}

func edgeHasFlag(e *summary.Edge, f Flag) bool {
	switch f {
	case FlagError:
		return e.Error
	case FlagFault:
		return e.Fault
	case FlagThrottle:
		return e.Throttle
	}
	return true
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
		if c.NodeFlag != 0 {
			return "node " + c.Node.String() + " with " + flagNames[c.NodeFlag]
		}
		return "node " + c.Node.String()
	case CondEdge:
		if c.NodeFlag != 0 {
			return "edge " + c.Node.String() + " -> " + c.To.String() + " with " + flagNames[c.NodeFlag]
		}
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
		switch {
		case c.Prefix:
			o = "BEGINSWITH"
		case c.Contains:
			o = "CONTAINS"
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
