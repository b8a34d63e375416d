package filter

import (
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
)

// flag returns a boolean keyword's value in the scope; the parser has
// checked that the keyword applies there.
func (sc *scope) flag(kw keyword) bool {
	switch sc.kind {
	case scTrace:
		s := sc.s
		switch kw {
		case kwOK:
			return !s.HasFault && !s.HasError
		case kwError:
			return s.HasError
		case kwFault:
			return s.HasFault
		case kwThrottle:
			return s.HasThrottle
		case kwPartial:
			return s.IsPartial
		case kwInferred:
			return s.HasInferred
		}
	case scNode:
		n := sc.node
		switch kw {
		case kwOK:
			return n.Ok
		case kwError:
			return n.Error
		case kwFault:
			return n.Fault
		case kwThrottle:
			return n.Throttle
		case kwPartial:
			return inProgress(n.Requests)
		case kwInferred:
			return n.Inferred
		case kwRoot:
			return n.Root || sc.idx == sc.s.Entry
		}
	case scEdge:
		e := sc.edge
		switch kw {
		case kwOK:
			return e.Ok
		case kwError:
			return e.Error
		case kwFault:
			return e.Fault
		case kwThrottle:
			return e.Throttle
		case kwPartial:
			return inProgress(e.Calls)
		}
	default: // root-cause blocks
		switch kw {
		case kwFirst:
			return sc.index == 0
		case kwLast:
			return sc.last
		case kwInferred:
			return sc.svc.Inferred
		case kwRemote:
			return sc.ent.Remote
		}
	}
	return false
}

func inProgress(calls []summary.Call) bool {
	for i := range calls {
		if calls[i].InProgress {
			return true
		}
	}
	return false
}

// number returns a number keyword's value in the scope, and whether it is
// present.
func (sc *scope) number(kw keyword) (float64, bool) {
	switch kw {
	case kwResponseTime:
		switch sc.kind {
		case scNode:
			return sc.node.ResponseTime, true
		case scEdge:
			return sc.edge.ResponseTime, true
		}
		return sc.s.ResponseTime, true
	case kwDuration:
		return sc.s.Duration, true
	case kwHTTPStatus:
		st := sc.http().Status
		return float64(st), st != 0
	case kwIndex:
		return float64(sc.index), true
	case kwCoverage:
		return sc.ent.Coverage, true
	}
	return 0, false
}

// http returns the request the scope's http.* keywords describe.
func (sc *scope) http() *summary.HTTP {
	switch sc.kind {
	case scNode:
		return &sc.node.HTTP
	case scEdge:
		return &sc.edge.HTTP
	}
	return &sc.s.HTTP
}

// anyString reports whether some value of a string keyword in the scope
// satisfies o with want. Empty strings are absent values.
func (sc *scope) anyString(kw keyword, o op, want string) bool {
	s := sc.s
	switch kw {
	case kwHTTPURL:
		return present(o, sc.http().URL, want)
	case kwHTTPMethod:
		return present(o, sc.http().Method, want)
	case kwHTTPUserAgent:
		return present(o, sc.http().UserAgent, want)
	case kwHTTPClientIP:
		return present(o, sc.http().ClientIP, want)
	case kwUser:
		for i := range s.Users {
			u := &s.Users[i]
			if (sc.kind != scNode || slices.Contains(u.Nodes, sc.idx)) && present(o, u.Name, want) {
				return true
			}
		}
	case kwAvailabilityZone:
		return anyOf(s.AvailabilityZones, o, want)
	case kwInstanceID:
		return anyOf(s.InstanceIDs, o, want)
	case kwResourceARN:
		return anyOf(s.ResourceARNs, o, want)
	case kwName:
		switch sc.kind {
		case scNode:
			return present(o, sc.node.Name, want) || anyOf(sc.node.Names, o, want)
		case scRCService:
			return present(o, sc.svc.Name, want) || anyOf(sc.svc.Names, o, want)
		case scRCException:
			return present(o, sc.exc.Name, want)
		}
		return present(o, sc.ent.Name, want)
	case kwType:
		if sc.kind == scNode {
			return present(o, sc.node.Type, want)
		}
		return present(o, sc.svc.Type, want)
	case kwAccountID:
		if sc.kind == scNode {
			return present(o, sc.node.AccountID, want)
		}
		return present(o, sc.svc.AccountID, want)
	case kwMessage:
		if sc.kind == scRCException {
			return present(o, sc.exc.Message, want)
		}
		for i := range sc.ent.Exceptions {
			if present(o, sc.ent.Exceptions[i].Message, want) {
				return true
			}
		}
	}
	return false
}

func present(o op, have, want string) bool {
	return have != "" && compareStrings(o, have, want)
}

func anyOf(values []string, o op, want string) bool {
	for _, v := range values {
		if present(o, v, want) {
			return true
		}
	}
	return false
}

// anyAnnotation reports whether some value of annotation n.key (set by the
// scope's node, inside service()) satisfies o with n's operand.
func (sc *scope) anyAnnotation(n *node, o op) bool {
	anns := sc.s.Annotations
	for i := range anns {
		a := &anns[i]
		if a.Key != n.key || sc.kind == scNode && !slices.Contains(a.Nodes, sc.idx) {
			continue
		}
		if o == opExists {
			return true
		}
		v := &a.Value
		switch {
		case n.typ == tyNumber && v.Type == segment.AnnotationNumber:
			if compareNumbers(o, v.Number, n.num) {
				return true
			}
		case n.typ == tyString && v.Type == segment.AnnotationString:
			if compareStrings(o, v.String, n.str) {
				return true
			}
		case n.typ == tyBool && v.Type == segment.AnnotationBool:
			if v.Bool == n.b { // the parser allows only = here
				return true
			}
		}
	}
	return false
}
