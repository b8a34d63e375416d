package index

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// covered reports whether the index of a store with policy p would find
// s for condition c.
func covered(p Policy, s *summary.Summary, c filter.Condition) (found, usable bool) {
	want, ok := p.ForCondition(c)
	if !ok {
		return false, false
	}
	have := p.Terms(s, nil)
	for _, t := range want {
		if _, ok := slices.BinarySearch(have, t); ok {
			return true, true
		}
	}
	return false, true
}

func randomSummary(r *rand.Rand) *summary.Summary {
	names := []string{"api", "orders", "items", "db@host", "payments"}
	s := &summary.Summary{
		ResponseTime: r.Float64() * 10, Duration: r.Float64() * 20,
		HasFault: r.IntN(4) == 0, HasError: r.IntN(4) == 0, HasThrottle: r.IntN(8) == 0,
		IsPartial: r.IntN(8) == 0, HasInferred: r.IntN(3) == 0,
	}
	if r.IntN(2) == 0 {
		s.HTTP.Status = []int{200, 404, 429, 500}[r.IntN(4)]
	}
	for range r.IntN(4) + 1 {
		n := summary.Node{Name: names[r.IntN(len(names))], Fault: r.IntN(3) == 0, Error: r.IntN(3) == 0, Throttle: r.IntN(5) == 0}
		n.Names = []string{n.Name}
		if r.IntN(3) == 0 {
			n.Names = append(n.Names, names[r.IntN(len(names))])
		}
		s.Nodes = append(s.Nodes, n)
	}
	for range r.IntN(3) {
		a := summary.Annotation{Key: []string{"tier", "total", "hit"}[r.IntN(3)]}
		switch r.IntN(3) {
		case 0:
			a.Value = segment.Annotation{Type: segment.AnnotationString, String: []string{"gold", "silver"}[r.IntN(2)]}
		case 1:
			a.Value = segment.Annotation{Type: segment.AnnotationNumber, Number: float64(r.IntN(3))}
		default:
			a.Value = segment.Annotation{Type: segment.AnnotationBool, Bool: r.IntN(2) == 0}
		}
		a.Value.Key = a.Key
		s.Annotations = append(s.Annotations, a)
	}
	if r.IntN(2) == 0 {
		s.Users = []summary.User{{Name: []string{"alice", "bob"}[r.IntN(2)]}}
	}
	return s
}

// unindexed is a store.IndexPolicy leaving out the terms of its fields.
type unindexed map[store.Field]bool

func (u unindexed) Unindexed(f store.Field) bool { return u[f] }

// TestIndexFindsEveryMatch checks soundness: whenever a filter's necessary
// condition holds for a trace, the trace is indexed under one of the
// condition's terms, for a store given every term and for stores that
// leave some out (store.IndexPolicy): the planner must never follow a term
// the writer did not give. A miss here would make queries silently lose
// traces.
func TestIndexFindsEveryMatch(t *testing.T) {
	all := unindexed{}
	for f := store.FieldFault; f <= store.FieldInferred; f++ {
		all[f] = true
	}
	policies := []Policy{{}, For(all), For(unindexed{store.FieldFault: true, store.FieldService: true}),
		For(unindexed{store.FieldDuration: true, store.FieldAnnotationKey: true, store.FieldInferred: true})}
	if !policies[0].Full() || policies[1].Full() || For(struct{}{}) != (Policy{}) {
		t.Fatal("For: a store without IndexPolicy gets every term, one with it not")
	}
	for _, p := range policies {
		testFindsEveryMatch(t, p)
	}
	// What each policy leaves out: no term of it, no term for it.
	s := &summary.Summary{HasFault: true, HasError: true, HasInferred: true, Duration: 2, ResponseTime: 1,
		HTTP: summary.HTTP{Status: 500}, Nodes: []summary.Node{{Name: "api", Names: []string{"api", "gw"}, Fault: true}},
		Annotations: []summary.Annotation{{Key: "k", Value: segment.Annotation{Key: "k", Type: segment.AnnotationString, String: "v"}}}}
	for i, c := range []struct {
		p       Policy
		gone    []store.Term
		kept    []store.Term
		noIndex []string
	}{
		{policies[1], []store.Term{TraceFlag(filter.FlagFault), TraceFlag(filter.FlagError), TraceFlag(filter.FlagInferred), Node("api"), Node("gw"),
			AnnotationKey("k"), Duration(2), ResponseTime(1), HTTPStatus(500)},
			[]store.Term{NodeFlag("api", filter.FlagFault), NodeFlag("gw", filter.FlagFault), AnnotationValue(s.Annotations[0].Value)},
			[]string{`fault`, `error`, `inferred`, `service("gw")`, `edge("api", "gw")`, `annotation.k`, `duration > 1`, `responsetime < 1`, `http.status = 500`}},
		{policies[2], []store.Term{TraceFlag(filter.FlagFault), Node("api")}, []store.Term{TraceFlag(filter.FlagError), TraceFlag(filter.FlagInferred), Duration(2)},
			[]string{`fault`, `service("api")`}},
	} {
		have := c.p.Terms(s, nil)
		for _, g := range c.gone {
			if slices.Contains(have, g) {
				t.Errorf("policy %d: term %#x of kind %d given", i, uint64(g), KindOf(g))
			}
		}
		for _, k := range c.kept {
			if !slices.Contains(have, k) {
				t.Errorf("policy %d: term %#x of kind %d left out", i, uint64(k), KindOf(k))
			}
		}
		for _, src := range c.noIndex {
			e, err := filter.Parse(src, filter.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, cond := range e.Necessary() {
				if terms, ok := c.p.ForCondition(cond); ok {
					t.Errorf("policy %d: %s: %s followed by %d terms", i, src, cond, len(terms))
				}
			}
		}
	}
}

func testFindsEveryMatch(t *testing.T, p Policy) {
	exprs := []string{
		`service("api")`, `service("items") { fault }`, `service("orders") { error }`, `service("payments") { throttle }`,
		`edge("api", "orders")`, `annotation.tier = "gold"`, `annotation.total = 1`, `annotation.hit = true`,
		`annotation.hit = false`, `annotation.tier`, `user = "alice"`, `fault`, `error`, `throttle`, `partial`,
		`inferred`, `responsetime > 2`, `responsetime >= 0.5 AND responsetime < 3`, `duration > 15`,
		`duration <= 0.0005`, `http.status = 429`, `http.status = 200`, `annotation.total = -0`,
	}
	r := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for _, src := range exprs {
		e, err := filter.Parse(src, filter.Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		conds := e.Necessary()
		for range 2000 {
			s := randomSummary(r)
			for _, c := range conds {
				if !c.Holds(s) {
					continue
				}
				if found, usable := covered(p, s, c); usable && !found {
					t.Fatalf("policy %+v: %s: condition %s holds for %+v but its terms miss the trace", p, src, c, s)
				}
				checked++
			}
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d condition checks: the generator is too sparse to test anything", checked)
	}
}

func TestRangeTermsAreBuckets(t *testing.T) {
	f := func(min, max float64, want []int) {
		t.Helper()
		terms, ok := rangeTerms(KindResponseTime, filter.Condition{Kind: filter.CondRange, Field: filter.FieldResponseTime, Min: min, Max: max})
		if !ok {
			t.Fatal("not usable")
		}
		var got []int
		for _, term := range terms {
			for b := 0; b <= maxBucket; b++ {
				if timeTerm(KindResponseTime, b) == term {
					got = append(got, b)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("[%v, %v]: buckets %v, want %v", min, max, got, want)
		}
	}
	f(0.0015, 0.0035, []int{1, 2}) // 1.5 ms is in [1,2), 3.5 ms in [2,4)
	f(2, 2, []int{11})             // 2000 ms in [1024, 2048)
	f(0, 0.0009, []int{0})         // under 1 ms
	f(5, 4, nil)                   // empty range
	if b := bucketOf(1e12); b != maxBucket {
		t.Fatalf("huge value in bucket %d", b)
	}
}

func TestTermsAreStableAcrossProcesses(t *testing.T) {
	// Terms are persisted in stores: these values must never change.
	f := func(got store.Term, want uint64) {
		t.Helper()
		if uint64(got) != want {
			t.Fatalf("term %#x, want %#x: the hash or a kind number changed, which breaks stored indexes", uint64(got), want)
		}
	}
	f(Node("orders"), 0x1c0b29f33c76129)
	f(NodeFlag("orders", filter.FlagFault), 0x27d2cf7d83db023)
	f(AnnotationValue(segment.Annotation{Key: "tier", Type: segment.AnnotationString, String: "gold"}), 0x488b9e9ab7c96ea)
	f(ResponseTime(2), 0x719c907b5b00c7c)
	if KindOf(User("alice")) != KindUser {
		t.Fatal("KindOf")
	}
}
