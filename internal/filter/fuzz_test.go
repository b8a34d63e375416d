package filter

import (
	"errors"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are expressions of every shape, valid and not.
var fuzzSeeds = []string{
	"", "ok", "!ok", "ok = false", "ok !partial duration <3", "responsetime > 5", "duration >= 5 AND duration <= 8",
	`http.url CONTAINS "/api/game/"`, `user CONTAINS ""`, `service("api.example.com") { fault }`, "service() { fault }",
	`edge("api.example.com", "backend.example.com") { error }`,
	`http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")`,
	"http.url AND responseTime > 2", `annotation.gameid = "817DL6VO"`, "annotation.age", "!annotation.age", "annotation.age > 29",
	`group.name = "high_response_time" AND user = "alice"`,
	`service("api.example.com") { fault = true OR responsetime > 2.5 } AND annotation.account = "12345"`,
	`service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }`, `service(id(account.id: "123456789012"))`,
	`service("data-plane") {root = true and fault = true}`, `rootcause.fault.entity { last and name = "deserialize" }`,
	`rootcause.responsetime.entity { remote and coverage > 0.7 and name = "traces" }`,
	`rootcause.fault.service { inferred and name = traces and type = "AWS::DynamoDB" }`, `rootcause.fault.service { index > 5 }`,
	`rootcause.error.exception { message CONTAINS "not authorized" }`,
	`rootcause.json = #[{ "Services": [ { "Name": "GetWeatherData", "EntityPath": [{ "Name": "GetWeatherData" }, { "Name": "get_temperature" } ] } ] }]`,
	`annotation[aws:responseLatency] > 100`, `annotation["odd \"key\""] = "\\"`, `http.clientip = 10.0.0.1`,
	`edge(id(type: "client"), "api") { ok }`, `group.name = "nested" OR group.name = "loop1"`, `json = #[{]`,
	`(fault`, `fault)`, `service("a") { (fault }`, `http.url = "abc`, `responsetime > 1e999`, `5xx`, `annotation.`,
}

// FuzzParse: any input gives an *Error pointing into it, or an expression
// whose canonical form parses back to the same tree; nothing panics.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		f.Add(genExpr(r, 3, scTrace))
	}
	s := realistic()
	f.Fuzz(func(t *testing.T, src string) {
		if _, err := ParseEntitySelector(src); err != nil {
			checkError(t, src, err)
		}
		e, err := Parse(src, testOptions)
		if err != nil {
			checkError(t, src, err)
			return
		}
		canonical := e.String()
		again, err := Parse(canonical, testOptions)
		if err != nil {
			t.Fatalf("%q: canonical form %q: %v", src, canonical, err)
		}
		if !equalTrees(e, again) {
			t.Fatalf("%q: canonical form %q parses differently:\n%s\n%s", src, canonical, describe(e), describe(again))
		}
		if again.String() != canonical {
			t.Fatalf("%q: canonical form is not stable: %q then %q", src, canonical, again)
		}
		if e.Match(s) != again.Match(s) {
			t.Fatalf("%q and its canonical form disagree", src)
		}
		e.Necessary()
	})
}

func checkError(t *testing.T, src string, err error) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("%q: error %T is not an *Error", src, err)
	}
	if fe.Pos < 0 || fe.Pos > len(src) || fe.Column != utf8.RuneCountInString(src[:fe.Pos])+1 || fe.Msg == "" {
		t.Fatalf("%q: bad error %#v", src, fe)
	}
}

// FuzzMatch: any expression against any summary the seed draws: Match
// never panics, and a match meets every necessary condition.
func FuzzMatch(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, uint64(i))
	}
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 100 {
		f.Add(genExpr(r, 4, scTrace), uint64(i))
	}
	f.Fuzz(func(t *testing.T, src string, seed uint64) {
		e, err := Parse(src, testOptions)
		if err != nil {
			return
		}
		r := rand.New(rand.NewPCG(seed, seed>>7))
		necessary := e.Necessary()
		for range 8 {
			s := randomSummary(r)
			if !e.Match(s) {
				continue
			}
			for _, c := range necessary {
				if !c.Holds(s) {
					t.Fatalf("%q matches a summary that fails its necessary condition %s:\n%+v", src, c, s)
				}
			}
		}
	})
}
