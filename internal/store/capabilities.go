package store

import (
	"context"
	"slices"
	"strings"
)

// Optional capabilities the query planner asks a SummaryReader for, with a
// type assertion; without them it falls back to what every backend must do
// (CountTerm per term, scans re-checked row by row).

// TermEstimator estimates how selective a union of index terms is, in one
// call (the fallback, SumCountTerm, asks CountTerm once per term).
type TermEstimator interface {
	// EstimateTerms returns about how many traces are indexed under any
	// of terms with a start second in [from, to), stopping at limit (it
	// returns limit when there are at least that many). The answer is
	// never below the number of distinct such traces (up to limit) and
	// never above the sum of CountTerm over the terms: a trace under
	// several of the terms may count once or once per term.
	EstimateTerms(ctx context.Context, terms []Term, from, to int64, limit int) (int, error)
}

// Field names a SummaryFields value a condition tests.
type Field uint8

// The fields of SummaryFields a FieldCond can test.
const (
	FieldFault Field = iota + 1
	FieldError
	FieldThrottle
	FieldPartial
	FieldDuration
	FieldResponseTime
	FieldHTTPStatus
	FieldService
	FieldAnnotationKey
	FieldHTTPMethod
	FieldHTTPURL
	// FieldEdge: the trace has a call between two named services, with
	// flags (SummaryFields.Edges).
	FieldEdge
	// FieldInferred: the trace has an inferred node (SummaryFields.Inferred).
	FieldInferred
)

// Op is a FieldCond's comparison.
type Op uint8

// Comparisons. Flags (Fault, Error, Throttle, Partial, Inferred) take Eq with Num 0
// or 1; numbers take Eq, Ge, Le; Service and AnnotationKey take Has (the
// trace has a service of that name, an annotation with that key; for a
// Service, Num may be EdgeFlags the service's nodes must have had, all of
// them: service("x") { fault }); the
// strings HTTPMethod and HTTPURL take Eq, Prefix and Contains with Str;
// Edge takes Has with Str an EdgeKey and Num the EdgeFlags the edge must
// have (all of them; 0 for any edge).
const (
	Eq Op = iota + 1
	Ge
	Le
	Has
	Prefix
	Contains
)

// FieldCond is one condition on a summary's SummaryFields.
type FieldCond struct {
	Field Field
	Op    Op
	Num   float64
	Str   string
}

// Holds reports whether f meets c, the reference semantics a backend that
// pushes c down must follow. An unknown field or operator holds (a hint
// may only narrow what a scan yields when it is understood).
func (c FieldCond) Holds(f *SummaryFields) bool {
	num := func(v float64) bool {
		switch c.Op {
		case Eq:
			return v == c.Num
		case Ge:
			return v >= c.Num
		case Le:
			return v <= c.Num
		}
		return true
	}
	flag := func(b bool) bool {
		v := 0.0
		if b {
			v = 1
		}
		return num(v)
	}
	has := func(xs []string) bool { return c.Op != Has || slices.Contains(xs, c.Str) }
	str := func(v string) bool {
		switch c.Op {
		case Eq:
			return v == c.Str
		case Prefix:
			return strings.HasPrefix(v, c.Str)
		case Contains:
			return strings.Contains(v, c.Str)
		}
		return true
	}
	switch c.Field {
	case FieldFault:
		return flag(f.Fault)
	case FieldError:
		return flag(f.Error)
	case FieldThrottle:
		return flag(f.Throttle)
	case FieldPartial:
		return flag(f.Partial)
	case FieldInferred:
		if !f.ServiceNames {
			return true // a writer before Inferred: nothing to skip on
		}
		return flag(f.Inferred)
	case FieldDuration:
		return num(f.Duration)
	case FieldResponseTime:
		return num(f.ResponseTime)
	case FieldHTTPStatus:
		return num(float64(f.HTTPStatus))
	case FieldService:
		if !f.ServiceNames {
			return true // primary names only: a node's other names are missing
		}
		want := EdgeFlags(c.Num)
		if c.Op != Has || want == 0 || float64(want) != c.Num || !f.HasServiceFlags {
			return has(f.Services) // no flags asked (or none known): the name alone
		}
		return slices.ContainsFunc(f.ServiceFlags, func(s ServiceFlag) bool { return s.Name == c.Str && s.Flags&want == want })
	case FieldAnnotationKey:
		return has(f.AnnotationKeys)
	case FieldHTTPMethod:
		return str(f.HTTPMethod)
	case FieldHTTPURL:
		return str(f.HTTPURL)
	case FieldEdge:
		if c.Op != Has || !f.HasEdges {
			return true // a writer that left Edges out: nothing to skip on
		}
		want := EdgeFlags(c.Num)
		if float64(want) != c.Num {
			return true // not a set of flags
		}
		return slices.ContainsFunc(f.Edges, func(e EdgeField) bool { return e.Key == c.Str && e.Flags&want == want })
	}
	return true
}

// PushDown is implemented by backends that evaluate some SummaryScan.Where
// conditions natively (from SummaryRecord.Fields they keep). The planner
// passes only conditions on fields the backend declared; every row is
// re-checked against the whole filter anyway.
type PushDown interface {
	// PushesDown reports whether ScanSummaries uses Where conditions on f
	// to skip rows.
	PushesDown(f Field) bool
}

// IndexPolicy is implemented by a PushDown backend that wants no index terms
// for the conditions it answers from some fields: its scans with Where skip
// rows cheaply enough (ClickHouse tests its columns and folds the seconds
// with no match) that those terms would cost more bytes than they save
// time. The writer leaves the terms out and the planner never follows
// them; package index decides which terms that is (index.For), for both.
// A backend declares only fields it pushes down, and never changes its
// answer for a store's data (terms left out are never added back).
type IndexPolicy interface {
	// Unindexed reports whether the terms of conditions on f are left
	// out.
	Unindexed(f Field) bool
}

// UnindexedWhenPushedDown is the IndexPolicy of a backend that pushes
// every field down (ClickHouse, and the memory backend that stands in for
// it in tests): no terms for any field that has them — all but edges and
// the entry request's method and URL, which never had terms.
func UnindexedWhenPushedDown(f Field) bool {
	switch f {
	case FieldFault, FieldError, FieldThrottle, FieldPartial, FieldDuration,
		FieldResponseTime, FieldHTTPStatus, FieldService, FieldAnnotationKey, FieldInferred:
		return true
	}
	return false
}
