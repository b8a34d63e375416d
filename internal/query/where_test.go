package query

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/summarize"
	"github.com/counterspy/counterspy/internal/summary"
)

// TestWhereSound is the property a push-down rests on: for random traces
// (services known by several names, edges between them and from the
// client, flags at random) and expressions (edges, services by any of
// their names), every condition the planner
// pushes down (Engine.where over Necessary) holds, by its reference
// semantics (store.FieldCond.Holds), for the Fields the summarizer writes
// (summarize.Fields) of every trace the expression matches. An unsound
// implication would make a backend skip a matching trace.
func TestWhereSound(t *testing.T) {
	mem := memstore.Open(memstore.NewDataWith(memstore.Options{}))
	defer mem.Close()
	e := New(mem, Options{})
	names := []string{"web", "auth", "db", "queue", "web.example.com"}
	exprs := []string{
		`fault`, `error`, `ok`, `!fault AND responsetime >= 0.5`, `http.status >= 500`,
		`http.url CONTAINS "/a"`, `annotation.k = 1`, `inferred`, `!inferred`, `inferred AND !partial`, `partial OR inferred`,
	}
	for _, a := range names {
		for _, b := range names {
			for _, block := range []string{"", " { error }", " { fault }", " { throttle }", " { !error }", " { error AND fault }",
				" { error OR fault }", " { ok }", " { partial }"} {
				exprs = append(exprs, fmt.Sprintf(`edge(%q, %q)%s`, a, b, block))
			}
			exprs = append(exprs, fmt.Sprintf(`edge(id(name: %q, type: "client"), %q)`, a, b),
				fmt.Sprintf(`edge(id(type: "T1"), %q) { fault }`, b),
				fmt.Sprintf(`!edge(%q, %q) { error }`, a, b),
				fmt.Sprintf(`edge(%q, %q) { error } OR service(%q)`, a, b, b))
		}
		// Services by any of their names (aliases in randomTrace), with
		// a flag, a type, as the client, negated.
		exprs = append(exprs, fmt.Sprintf(`service(%q)`, a), fmt.Sprintf(`service(%q) { fault }`, a),
			fmt.Sprintf(`service(%q) { throttle }`, a), fmt.Sprintf(`service(%q) { error AND fault }`, a),
			fmt.Sprintf(`service(id(name: %q, type: "T1")) { error }`, a), fmt.Sprintf(`service(id(name: %q, type: "client"))`, a),
			fmt.Sprintf(`!service(%q)`, a), fmt.Sprintf(`service(%q) AND fault`, a), fmt.Sprintf(`service(%q) OR error`, a))
	}
	r := rand.New(rand.NewPCG(14, 1))
	type parsed struct {
		src   string
		f     *filter.Expr
		where []store.FieldCond
	}
	var ps []parsed
	pushed, pushedServices := 0, 0
	for _, src := range exprs {
		f, err := filter.Parse(src, filter.Options{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		w := e.where(f.Necessary())
		for _, c := range w {
			switch c.Field {
			case store.FieldEdge:
				pushed++
			case store.FieldService:
				pushedServices++
			}
		}
		ps = append(ps, parsed{src, f, w})
	}
	matches, edgeMatches, serviceMatches, aliasMatches, flagMatches := 0, 0, 0, 0, 0
	for range 3000 {
		s := randomTrace(r, names)
		fields, _ := summarize.Fields(s, nil)
		for _, p := range ps {
			if !p.f.Match(s) {
				continue
			}
			matches++
			for _, c := range p.where {
				switch c.Field {
				case store.FieldEdge:
					edgeMatches++
				case store.FieldService:
					serviceMatches++
					if c.Num != 0 {
						flagMatches++ // a node known by that name had the flag
					}
					if !hasPrimary(s, c.Str) {
						aliasMatches++ // only another name of a node has it
					}
				}
				if !c.Holds(&fields) {
					t.Fatalf("%s matches a trace whose fields fail the pushed-down %+v:\ntrace %+v\nfields %+v", p.src, c, s, fields)
				}
			}
		}
	}
	// Not vacuous: edge conditions were pushed down and tested on matches.
	if pushed < len(names)*len(names)*5 || edgeMatches < 1000 {
		t.Errorf("weak sample: %d edge conditions pushed down, %d tested on %d matches", pushed, edgeMatches, matches)
	}
	if pushedServices < len(names)*5 || serviceMatches < 1000 || aliasMatches < 100 || flagMatches < 500 {
		t.Errorf("weak sample: %d service conditions pushed down, %d tested on matches (%d by another name only, %d with a flag)",
			pushedServices, serviceMatches, aliasMatches, flagMatches)
	}
}

// hasPrimary reports whether a node of s has name as its primary name.
func hasPrimary(s *summary.Summary, name string) bool {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return true
		}
	}
	return false
}

// randomTrace is a summary with a few services, each known by a name and
// maybe other names, edges between them (and from the client) with
// random flags, and random trace-level values.
func randomTrace(r *rand.Rand, names []string) *summary.Summary {
	s := &summary.Summary{Entry: 0, HasFault: r.IntN(2) == 0, HasError: r.IntN(2) == 0, HasThrottle: r.IntN(3) == 0,
		HasInferred: r.IntN(2) == 0, IsPartial: r.IntN(3) == 0,
		ResponseTime: r.Float64(), Duration: r.Float64()}
	s.HTTP.Status = []int{0, 200, 404, 500}[r.IntN(4)]
	s.HTTP.URL = []string{"", "/a", "/b/a", "/c"}[r.IntN(4)]
	if r.IntN(2) == 0 {
		s.Annotations = append(s.Annotations, summary.Annotation{Key: "k"})
	}
	for range 1 + r.IntN(4) {
		n := summary.Node{Name: names[r.IntN(len(names))], Type: []string{"", "T1", "client"}[r.IntN(3)],
			Error: r.IntN(2) == 0, Fault: r.IntN(2) == 0, Throttle: r.IntN(4) == 0}
		n.Names = []string{n.Name}
		for range r.IntN(3) {
			n.Names = append(n.Names, names[r.IntN(len(names))])
		}
		s.Nodes = append(s.Nodes, n)
	}
	for range r.IntN(6) {
		e := summary.Edge{From: int32(r.IntN(len(s.Nodes)+1)) - 1, To: int32(r.IntN(len(s.Nodes))),
			Ok: r.IntN(2) == 0, Error: r.IntN(3) == 0, Fault: r.IntN(3) == 0, Throttle: r.IntN(4) == 0}
		if r.IntN(4) == 0 {
			e.Aliases = []string{names[r.IntN(len(names))]}
		}
		s.Edges = append(s.Edges, e)
	}
	return s
}
