// Package index decides which values of a trace summary are indexed, and
// which index terms can answer a filter condition. The writer (the ingest
// assembler) and the reader (the query planner) both go through it, so the
// two always agree; backends only store opaque store.Terms.
package index

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// Kind is the top byte of a term.
type Kind uint8

// Kinds of indexed values. Numbers are persisted in term bytes: never
// renumber.
const (
	KindNode            Kind = 1 // a node's name
	KindNodeFlag        Kind = 2 // a node's name with a flag it had (fault, error, throttle)
	KindAnnotationKey   Kind = 3 // an annotation key is set
	KindAnnotationValue Kind = 4 // an annotation key with a value
	KindUser            Kind = 5 // a user value
	KindTraceFlag       Kind = 6 // a trace-level flag (fault, error, throttle, partial, inferred)
	KindResponseTime    Kind = 7 // a power-of-two bucket of the response time in milliseconds
	KindDuration        Kind = 8 // a power-of-two bucket of the duration in milliseconds
	KindHTTPStatus      Kind = 9 // the entry segment's HTTP status
)

// term builds a term from a kind and the values that identify it.
func term(k Kind, parts ...string) store.Term {
	return store.Term(uint64(k)<<56 | hash(parts)&(1<<56-1))
}

// hash is 64-bit FNV-1a over the parts, each followed by a 0xff separator
// (which cannot appear in UTF-8), so ("ab","c") and ("a","bc") differ.
func hash(parts []string) uint64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// KindOf returns a term's kind.
func KindOf(t store.Term) Kind { return Kind(uint64(t) >> 56) }

// Node is the term of a node name.
func Node(name string) store.Term { return term(KindNode, name) }

// NodeFlag is the term of a node name with a flag.
func NodeFlag(name string, f filter.Flag) store.Term {
	return term(KindNodeFlag, name, string(rune('0'+f)))
}

// AnnotationKey is the term of an annotation key being set.
func AnnotationKey(key string) store.Term { return term(KindAnnotationKey, key) }

// AnnotationValue is the term of an annotation key with one value.
func AnnotationValue(a segment.Annotation) store.Term {
	var v string
	switch a.Type {
	case segment.AnnotationString:
		v = "s" + a.String
	case segment.AnnotationNumber:
		var b [9]byte
		b[0] = 'n'
		binary.BigEndian.PutUint64(b[1:], math.Float64bits(normalize(a.Number)))
		v = string(b[:])
	case segment.AnnotationBool:
		v = "b0"
		if a.Bool {
			v = "b1"
		}
	}
	return term(KindAnnotationValue, a.Key, v)
}

// normalize makes -0 and 0 one value, as the filter compares them equal.
func normalize(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// User is the term of a user value.
func User(name string) store.Term { return term(KindUser, name) }

// TraceFlag is the term of a trace-level flag being true.
func TraceFlag(f filter.Flag) store.Term { return term(KindTraceFlag, string(rune('0'+f))) }

// HTTPStatus is the term of the entry segment's status.
func HTTPStatus(status int) store.Term {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(status))
	return term(KindHTTPStatus, string(b[:]))
}

// Buckets of times: bucket 0 holds [0, 1 ms), bucket b holds
// [2^(b-1), 2^b) ms, the last one everything from 2^(maxBucket-1) ms
// (about 12 days) up.
const maxBucket = 31

func bucketOf(seconds float64) int {
	ms := seconds * 1000
	if !(ms >= 1) { // also NaN
		return 0
	}
	_, exp := math.Frexp(ms) // ms = frac × 2^exp, frac in [0.5, 1)
	return min(exp, maxBucket)
}

func timeTerm(k Kind, bucket int) store.Term {
	return term(k, string(rune('A'+bucket)))
}

// ResponseTime is the term of the bucket holding a response time (seconds).
func ResponseTime(seconds float64) store.Term { return timeTerm(KindResponseTime, bucketOf(seconds)) }

// Duration is the term of the bucket holding a duration (seconds).
func Duration(seconds float64) store.Term { return timeTerm(KindDuration, bucketOf(seconds)) }

// Policy is which terms a store is given: every term (the zero Policy,
// Pebble's), or all but those whose conditions the store answers by
// pushing them down without an index (store.IndexPolicy: ClickHouse, the
// memory backend). The writer (Terms) and the planner (ForCondition) take
// it from the same store with For, so that the planner never follows a
// term the store was not given: it scans with the pushed-down condition
// instead.
type Policy struct {
	// Left out: the trace flags, the time buckets, HTTP status,
	// annotation keys (not annotation values), node names (not node
	// flags: no column holds them, and they are rare).
	fault, err, throttle, partial  bool
	inferred                       bool
	duration, responseTime, status bool
	annotationKey, node            bool
}

// For is the Policy of a store: the terms of the fields it declares
// unindexed (store.IndexPolicy) are left out. It asks nothing else (not
// PushDown), so that a planner given the store with its push-down hidden
// still agrees with the writer on the terms; a wrapper must forward
// IndexPolicy, or its planner would follow terms never written.
func For(st any) Policy {
	u, ok := st.(store.IndexPolicy)
	if !ok {
		return Policy{}
	}
	return Policy{
		fault: u.Unindexed(store.FieldFault), err: u.Unindexed(store.FieldError),
		throttle: u.Unindexed(store.FieldThrottle), partial: u.Unindexed(store.FieldPartial),
		inferred: u.Unindexed(store.FieldInferred),
		duration: u.Unindexed(store.FieldDuration), responseTime: u.Unindexed(store.FieldResponseTime),
		status: u.Unindexed(store.FieldHTTPStatus), annotationKey: u.Unindexed(store.FieldAnnotationKey),
		node: u.Unindexed(store.FieldService),
	}
}

// Full reports whether p gives every term.
func (p Policy) Full() bool { return p == Policy{} }

// Indexes reports whether terms of kind k (and, for KindTraceFlag, flag
// f) are given to the store.
func (p Policy) Indexes(k Kind, f filter.Flag) bool {
	switch k {
	case KindNode:
		return !p.node
	case KindAnnotationKey:
		return !p.annotationKey
	case KindTraceFlag:
		switch f {
		case filter.FlagFault:
			return !p.fault
		case filter.FlagError:
			return !p.err
		case filter.FlagThrottle:
			return !p.throttle
		case filter.FlagPartial:
			return !p.partial
		case filter.FlagInferred:
			return !p.inferred
		}
	case KindResponseTime:
		return !p.responseTime
	case KindDuration:
		return !p.duration
	case KindHTTPStatus:
		return !p.status
	}
	return true
}

// Terms returns every term of s, sorted and without duplicates, appended to
// dst[:0]: the terms of a store that is given all of them (Policy{}.Terms).
func Terms(s *summary.Summary, dst []store.Term) []store.Term { return Policy{}.Terms(s, dst) }

// ForCondition is Policy{}.ForCondition: for a store given every term.
func ForCondition(c filter.Condition) (terms []store.Term, ok bool) { return Policy{}.ForCondition(c) }

// Terms returns the terms of s that p gives, sorted and without
// duplicates, appended to dst[:0].
func (p Policy) Terms(s *summary.Summary, dst []store.Term) []store.Term {
	dst = dst[:0]
	for i := range s.Nodes {
		n := &s.Nodes[i]
		// service("x") matches a node by its name or any alias.
		for j := -1; j < len(n.Names); j++ {
			name := n.Name
			if j >= 0 {
				if name = n.Names[j]; name == n.Name {
					continue
				}
			}
			if !p.node {
				dst = append(dst, Node(name))
			}
			if n.Fault {
				dst = append(dst, NodeFlag(name, filter.FlagFault))
			}
			if n.Error {
				dst = append(dst, NodeFlag(name, filter.FlagError))
			}
			if n.Throttle {
				dst = append(dst, NodeFlag(name, filter.FlagThrottle))
			}
		}
	}
	for i := range s.Annotations {
		a := &s.Annotations[i]
		if !p.annotationKey {
			dst = append(dst, AnnotationKey(a.Key))
		}
		dst = append(dst, AnnotationValue(a.Value))
	}
	for _, u := range s.Users {
		if u.Name != "" {
			dst = append(dst, User(u.Name))
		}
	}
	for _, f := range [...]struct {
		on   bool
		flag filter.Flag
	}{{s.HasFault, filter.FlagFault}, {s.HasError, filter.FlagError}, {s.HasThrottle, filter.FlagThrottle},
		{s.IsPartial, filter.FlagPartial}, {s.HasInferred, filter.FlagInferred}} {
		if f.on && p.Indexes(KindTraceFlag, f.flag) {
			dst = append(dst, TraceFlag(f.flag))
		}
	}
	if !p.responseTime {
		dst = append(dst, ResponseTime(s.ResponseTime))
	}
	if !p.duration {
		dst = append(dst, Duration(s.Duration))
	}
	if s.HTTP.Status != 0 && !p.status {
		dst = append(dst, HTTPStatus(s.HTTP.Status))
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// ForCondition returns terms, among those p gives, such that every trace
// meeting c is indexed under at least one of them, or ok=false when the
// index cannot narrow c (then the planner scans, with c pushed down when
// the store left its terms out).
func (p Policy) ForCondition(c filter.Condition) (terms []store.Term, ok bool) {
	switch c.Kind {
	case filter.CondNode:
		if c.Node.Name == "" {
			return nil, false
		}
		if c.NodeFlag != 0 {
			return []store.Term{NodeFlag(c.Node.Name, c.NodeFlag)}, true
		}
		if p.node {
			return nil, false
		}
		return []store.Term{Node(c.Node.Name)}, true
	case filter.CondEdge:
		if c.To.Name == "" || p.node {
			return nil, false
		}
		return []store.Term{Node(c.To.Name)}, true
	case filter.CondAnnotation:
		if c.Annotation.Type == 0 {
			if p.annotationKey {
				return nil, false
			}
			return []store.Term{AnnotationKey(c.Annotation.Key)}, true
		}
		return []store.Term{AnnotationValue(c.Annotation)}, true
	case filter.CondUser:
		if c.Text == "" {
			return nil, false
		}
		return []store.Term{User(c.Text)}, true
	case filter.CondFlag:
		switch c.Flag {
		case filter.FlagFault, filter.FlagError, filter.FlagThrottle, filter.FlagPartial, filter.FlagInferred:
			if c.Want && p.Indexes(KindTraceFlag, c.Flag) {
				return []store.Term{TraceFlag(c.Flag)}, true
			}
		}
		return nil, false
	case filter.CondRange:
		switch c.Field {
		case filter.FieldResponseTime:
			if p.responseTime {
				return nil, false
			}
			return rangeTerms(KindResponseTime, c)
		case filter.FieldDuration:
			if p.duration {
				return nil, false
			}
			return rangeTerms(KindDuration, c)
		case filter.FieldHTTPStatus:
			if p.status {
				return nil, false
			}
			if c.Min == c.Max && c.Min > 0 && c.Min == math.Trunc(c.Min) && c.Min < 1e6 {
				return []store.Term{HTTPStatus(int(c.Min))}, true
			}
		}
	}
	return nil, false
}

// rangeTerms covers [Min, Max] with the buckets that overlap it.
func rangeTerms(k Kind, c filter.Condition) ([]store.Term, bool) {
	lo, hi := 0, maxBucket
	if !math.IsInf(c.Min, -1) {
		lo = bucketOf(c.Min)
	}
	if !math.IsInf(c.Max, 1) {
		hi = bucketOf(c.Max)
	}
	if lo > hi {
		return nil, true // nothing can match: no terms, an empty union
	}
	terms := make([]store.Term, 0, hi-lo+1)
	for b := lo; b <= hi; b++ {
		terms = append(terms, timeTerm(k, b))
	}
	return terms, true
}
