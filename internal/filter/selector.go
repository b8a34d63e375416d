package filter

import (
	"strings"

	"github.com/counterspy/counterspy/internal/summary"
)

// EntitySelector is a GetTimeSeriesServiceStatistics entity selector: it
// picks the service nodes, or the edges, whose statistics to report.
type EntitySelector struct {
	// Edge is true for edge(From, To); otherwise the selector picks the
	// nodes Service matches (service(...) or a bare id(...)).
	Edge     bool
	Service  NodeRef
	From, To NodeRef
}

// ParseEntitySelector parses service(ref), edge(ref, ref) or id(...), where
// ref is a quoted name or id(...); blocks and other terms are errors.
// Errors are *Error.
func ParseEntitySelector(s string) (*EntitySelector, error) {
	p := &parser{src: s, groups: &groupState{}, selector: true}
	p.tok = scan(s, 0)
	var (
		sel EntitySelector
		err *Error
	)
	switch {
	case p.isWord("service"):
		var n *node
		if n, err = p.parseService(); err == nil {
			sel.Service = n.from.NodeRef
		}
	case p.isWord("edge"):
		var n *node
		if n, err = p.parseEdge(); err == nil {
			sel.Edge, sel.From, sel.To = true, n.from.NodeRef, n.to.NodeRef
		}
	case p.isWord("id"):
		var r ref
		r, err = p.parseID()
		sel.Service = r.NodeRef
	default:
		err = p.expected("service(...), edge(...) or id(...)", -1)
	}
	if err == nil && p.tok.kind != tEOF {
		err = p.expected("the end of the entity selector", -1)
	}
	if err != nil {
		return nil, err
	}
	return &sel, nil
}

// MatchNode reports whether a service selector picks node n.
func (e *EntitySelector) MatchNode(n *summary.Node) bool {
	return !e.Edge && e.Service.Match(n)
}

// MatchEdge reports whether an edge selector picks the edge from → to; a
// nil from is the client calling the entry service to.
func (e *EntitySelector) MatchEdge(from, to *summary.Node) bool {
	if !e.Edge || !e.To.Match(to) {
		return false
	}
	if from == nil {
		return e.From.MatchClient(to)
	}
	return e.From.Match(from)
}

// String returns the selector's canonical form.
func (e *EntitySelector) String() string {
	var b strings.Builder
	if e.Edge {
		b.WriteString("edge(")
		selectorRef(e.From).print(&b)
		b.WriteString(", ")
		selectorRef(e.To).print(&b)
	} else {
		b.WriteString("service(")
		if !e.Service.IsZero() {
			selectorRef(e.Service).print(&b)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// selectorRef prints a name alone as a quoted name, anything else as id().
func selectorRef(r NodeRef) ref {
	return ref{NodeRef: r, id: r.Type != "" || r.AccountID != ""}
}
