package filter

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNecessary(t *testing.T) {
	f := func(expr string, want ...string) {
		t.Helper()
		var got []string
		for _, c := range mustParse(t, expr).Necessary() {
			got = append(got, c.String())
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("Necessary(%q)\n got %q\nwant %q", expr, got, want)
		}
	}
	f("")
	f("fault", "fault = true")
	f("!ok", "ok = false")
	f("ok = false", "ok = false")
	f("ok !partial duration < 3", "ok = true", "partial = false", "duration in [-Inf, 3)")
	f("fault OR error")
	f("responsetime >= 2 AND responsetime < 5", "responsetime in [2, +Inf]", "responsetime in [-Inf, 5)")
	f("responsetime = 2", "responsetime in [2, 2]")
	f("responsetime != 2")
	f("!(responsetime > 2)", "responsetime in [-Inf, 2]")
	f("!(duration != 2)", "duration in [2, 2]")
	f("!(duration = 2)")
	f("http.status >= 500", "http.status in [500, +Inf]")
	f("!(http.status >= 500)") // an absent status matches
	f("!(http.status != 500)", "http.status in [500, 500]")
	f("http.status != 500")
	f(`http.method = POST`, `http.method = "POST"`)
	f(`http.url BEGINSWITH "https://api"`, `http.url BEGINSWITH "https://api"`)
	f(`http.url CONTAINS "/v2/"`, `http.url CONTAINS "/v2/"`)
	f(`!(http.url CONTAINS "/v2/")`)
	f(`http.url ENDSWITH ".json"`)
	f(`!(http.method != "GET")`, `http.method = "GET"`)
	f(`user = "alice"`, `user "alice"`)
	f(`user CONTAINS ""`, `user ""`)
	f(`user != "alice"`)
	f(`!user`)
	f(`availabilityzone = "a"`)
	f(`annotation.k`, "annotation k")
	f(`annotation.k = "v" annotation[aws:x] = 2 annotation.b = true`, `annotation k = "v"`, "annotation aws:x = 2", "annotation b = true")
	f(`annotation.k > 5`, "annotation k")
	f(`annotation.k != 5`)
	f(`!annotation.k`)
	f(`!(annotation.k != 5)`, "annotation k = 5")

	// Nodes and edges, with what their blocks say about them.
	f(`service("api")`, `node id(name: "api")`)
	f(`service()`, `node any`)
	f(`!service("api")`)
	f(`service(id(type: "AWS::Lambda")) { fault AND account.id = "1" AND name = "fn" }`,
		`node id(name: "fn", type: "AWS::Lambda", account.id: "1") with fault`)
	f(`service("a") { fault }`, `node id(name: "a") with fault`)
	f(`service("a") { error OR throttle }`, `node id(name: "a")`)
	f(`service("a") { !fault }`, `node id(name: "a")`)
	f(`service("a") { fault = false }`, `node id(name: "a")`)
	f(`service("a") { name = "b" }`, `node id(name: "a")`, `node id(name: "b")`)
	f(`service("a") { type = "T" OR type = "T" }`, `node id(name: "a", type: "T")`)
	f(`service("a") { type = "T" OR type = "U" }`, `node id(name: "a")`)
	f(`service("a") { name != "b" }`, `node id(name: "a")`)
	f(`service("a") { !(type != "T") }`, `node id(name: "a", type: "T")`)
	f(`service("a") { annotation.k = 1 AND user = "u" AND responsetime > 5 }`, `node id(name: "a")`, "annotation k = 1", `user "u"`)
	f(`edge("a", "b") { fault }`, `edge id(name: "a") -> id(name: "b") with fault`, `node id(name: "b")`, `node id(name: "a")`)
	f(`edge("a", "b") { !error }`, `edge id(name: "a") -> id(name: "b")`, `node id(name: "b")`, `node id(name: "a")`)
	f(`edge("a", "b") { error OR fault }`, `edge id(name: "a") -> id(name: "b")`, `node id(name: "b")`, `node id(name: "a")`)
	f(`edge(id(type: "client"), "b")`, `edge id(type: "client") -> id(name: "b")`, `node id(name: "b")`)

	// Through AND, OR, NOT and groups.
	f(`(fault AND service("a")) OR (error AND service("a"))`, `node id(name: "a")`)
	f(`(fault AND service("a")) OR error`)
	f(`!(fault OR error)`, "fault = false", "error = false")
	f(`!(fault AND error)`)
	f(`!(!fault AND !partial OR !fault AND ok)`)
	f(`!(ok AND !fault OR ok AND fault)`)
	f(`!(ok AND fault OR ok AND !fault)`)
	f(`!!fault`, "fault = true")
	f(`group.name = "errors"`)
	f(`group.name = "nested"`, "responsetime in (5, +Inf]", "ok = true")
	f(`group.name != "errors"`, "error = false", "fault = false")
	f(`group.name = "Default" fault`, "fault = true")
	f(`rootcause.fault.service { name = "a" }`)
	f(`rootcause.json = #[]`)
	f(`fault fault`, "fault = true")
}

// TestNecessarySound: a trace that fails a necessary condition never
// matches. Random expressions against random summaries over a shared
// vocabulary, so that both outcomes are frequent.
func TestNecessarySound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	exprs, matches, conds := 0, 0, 0
	for range 3000 {
		src := genExpr(r, 4, scTrace)
		e, err := Parse(src, testOptions)
		if err != nil {
			t.Fatalf("generated %q: %v", src, err)
		}
		exprs++
		necessary := e.Necessary()
		conds += len(necessary)
		for range 40 {
			s := randomSummary(r)
			if !e.Match(s) {
				continue
			}
			matches++
			for _, c := range necessary {
				if !c.Holds(s) {
					t.Fatalf("%q matches a summary that fails its necessary condition %s:\n%+v", src, c, s)
				}
			}
		}
	}
	// The test means something only if both sides are exercised.
	if matches < exprs*2 || conds < exprs/2 {
		t.Errorf("weak sample: %d expressions, %d matches, %d conditions", exprs, matches, conds)
	}
	t.Logf("%d expressions, %d matches, %d conditions", exprs, matches, conds)
}

// TestRandomRoundTrip: generated expressions parse, and their canonical
// form parses to the same tree and the same result on random summaries.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		src := genExpr(r, 5, scTrace)
		e, err := Parse(src, testOptions)
		if err != nil {
			t.Fatalf("generated %q: %v", src, err)
		}
		again, err := Parse(e.String(), testOptions)
		if err != nil {
			t.Fatalf("%q: canonical form %q: %v", src, e, err)
		}
		if !equalTrees(e, again) {
			t.Fatalf("%q: canonical form parses differently:\n%s\n%s", src, describe(e), describe(again))
		}
		if again.String() != e.String() {
			t.Fatalf("%q: canonical form is not stable: %q then %q", src, e, again)
		}
	}
}
