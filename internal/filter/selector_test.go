package filter

import (
	"testing"

	"github.com/counterspy/counterspy/internal/summary"
)

func TestParseEntitySelector(t *testing.T) {
	f := func(expr, want string) {
		t.Helper()
		sel, err := ParseEntitySelector(expr)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = sel.String()
			if again, err := ParseEntitySelector(got); err != nil || *again != *sel {
				t.Errorf("%q: canonical form %q parses to %+v, %v", expr, got, again, err)
			}
		}
		if got != want {
			t.Errorf("ParseEntitySelector(%q)\n got %s\nwant %s", expr, got, want)
		}
	}
	f(`service("api")`, `service("api")`)
	f(`service()`, `service()`)
	f(`  Service( id(name: "fn", type: "AWS::Lambda") ) `, `service(id(name: "fn", type: "AWS::Lambda"))`)
	f(`id(account.id: "1")`, `service(id(account.id: "1"))`)
	f(`service(id(name: "api"))`, `service("api")`)
	f(`edge("a", id(type: "T"))`, `edge("a", id(type: "T"))`)
	f(`edge(id(type: "client"), "api")`, `edge(id(type: "client"), "api")`)

	f(``, `filter expression: column 1: expected service(...), edge(...) or id(...), found end of expression`)
	f(`fault`, `filter expression: column 1: expected service(...), edge(...) or id(...), found "fault"`)
	f(`service("a") { fault }`, `filter expression: column 14: an entity selector takes no { } block`)
	f(`edge("a", "b") {}`, `filter expression: column 16: an entity selector takes no { } block`)
	f(`service("a") AND service("b")`, `filter expression: column 14: expected the end of the entity selector, found "AND"`)
	f(`id()`, `filter expression: column 4: expected name:, type: or account.id: after "id(", found ")"`)
	f(`edge("a")`, `filter expression: column 9: expected "," after "edge(\"a\"", found ")"`)
}

func TestEntitySelectorMatch(t *testing.T) {
	api := &summary.Node{Name: "api", Names: []string{"api", "api.example.com"}, Type: "AWS::EC2::Instance", AccountID: "1"}
	fn := &summary.Node{Name: "fn", Names: []string{"fn"}, Type: "AWS::Lambda::Function"}
	f := func(expr string, from, to *summary.Node, wantNode, wantEdge bool) {
		t.Helper()
		sel, err := ParseEntitySelector(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if got := sel.MatchNode(to); got != wantNode {
			t.Errorf("%q.MatchNode(%s) = %v", expr, to.Name, got)
		}
		if got := sel.MatchEdge(from, to); got != wantEdge {
			t.Errorf("%q.MatchEdge(%v, %s) = %v", expr, from, to.Name, got)
		}
	}
	f(`service("api.example.com")`, nil, api, true, false)
	f(`service("fn")`, api, fn, true, false)
	f(`service("fn")`, nil, api, false, false)
	f(`service()`, nil, fn, true, false)
	f(`id(type: "AWS::Lambda::Function")`, nil, fn, true, false)
	f(`id(type: "AWS::Lambda::Function", account.id: "1")`, nil, fn, false, false)
	f(`edge("api", "fn")`, api, fn, false, true)
	f(`edge("fn", "api")`, api, fn, false, false)
	f(`edge(id(account.id: "1"), id(type: "AWS::Lambda::Function"))`, api, fn, false, true)
	f(`edge(id(type: "client"), "api")`, nil, api, false, true)
	f(`edge(id(name: "api.example.com", type: "client"), "api")`, nil, api, false, true)
	f(`edge("api", "api")`, nil, api, false, false)
}

// TestMatchDoesNotAllocate: scanning must not produce garbage per trace.
func TestMatchDoesNotAllocate(t *testing.T) {
	s := realistic()
	f := func(expr string) {
		t.Helper()
		e := mustParse(t, expr)
		if n := testing.AllocsPerRun(100, func() { e.Match(s) }); n != 0 {
			t.Errorf("%q: %v allocations per Match", expr, n)
		}
	}
	for _, expr := range benchExprs {
		f(expr.src)
	}
	f(`group.name = "nested" OR !service() { root } OR user != "bob"`)
	f(`rootcause.responsetime.entity { last AND coverage > 0.5 } OR rootcause.fault.exception { message CONTAINS "x" }`)
	f(`rootcause.json = #[{"Services": [{"Name": "payments", "EntityPath": [{"Name": "charge"}, {"Remote": true}]}]}]`)
}
