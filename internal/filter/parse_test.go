package filter

import (
	"strings"
	"testing"
)

// TestParseCanonical: what an expression parses to, shown by its
// canonical form, which must parse back to the same tree.
func TestParseCanonical(t *testing.T) {
	f := func(expr, want string) {
		t.Helper()
		e, err := Parse(expr, testOptions)
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			return
		}
		if got := e.String(); got != want {
			t.Errorf("Parse(%q).String()\n got %s\nwant %s", expr, got, want)
		}
		again, err := Parse(e.String(), testOptions)
		if err != nil {
			t.Errorf("Parse(%q) of the canonical form of %q: %v", e, expr, err)
		} else if !equalTrees(e, again) {
			t.Errorf("%q: canonical form parses differently:\n%s\n%s", expr, describe(e), describe(again))
		}
	}
	// Empty and blank expressions match everything.
	f("", "")
	f(" \t\r\n ", "")

	// Boolean keywords: bare, negated, compared; case-insensitive.
	f("ok", "ok")
	f("OK", "ok")
	f("!ok", "!ok")
	f("NOT ok", "!ok")
	f("not(ok)", "!ok")
	f("!!fault", "!!fault")
	f("ok = false", "ok = false")
	f("ok != true", "ok = false")
	f("ok = TRUE", "ok")
	f("ok != False", "ok")
	f("Throttle partial inferred", "throttle AND partial AND inferred")

	// Numbers: exponents, signs, trailing dot; no space needed.
	f("responseTime > 5", "responsetime > 5")
	f("duration<3", "duration < 3")
	f("duration >= 1e3", "duration >= 1000")
	f("duration < 2.5E-3", "duration < 0.0025")
	f("responsetime > -1", "responsetime > -1")
	f("responsetime>=5.", "responsetime >= 5")
	f("http.status != 200", "http.status != 200")
	f("http.status<=1E+2", "http.status <= 100")

	// Strings: operators in any case, escapes, bare words on the right.
	f(`http.url CONTAINS "/api/game/"`, `http.url CONTAINS "/api/game/"`)
	f(`http.url contains "a\"b\\c"`, `http.url CONTAINS "a\"b\\c"`)
	f(`http.method = "\x\n"`, `http.method = "xn"`)
	f(`http.useragent beginswith "Mozilla" http.clientip EndsWith ".7"`,
		`http.useragent BEGINSWITH "Mozilla" AND http.clientip ENDSWITH ".7"`)
	f("http.method = POST", `http.method = "POST"`)
	f(`user = "é\"✓"`, `user = "é\"✓"`)
	f("user", "user")
	f(`user CONTAINS ""`, `user CONTAINS ""`)
	f("availabilityzone = us-east-1a instance.id = i-0abc resource.arn BEGINSWITH arn:aws:lambda",
		`availabilityzone = "us-east-1a" AND instance.id = "i-0abc" AND resource.arn BEGINSWITH "arn:aws:lambda"`)
	f(`service() { name = my-service:v1.2 type != AWS::EC2::Instance account.id = 0123 }`,
		`service() { name = "my-service:v1.2" AND type != "AWS::EC2::Instance" AND account.id = "0123" }`)
	f("http.clientip = 10.0.0.1 http.url ENDSWITH 1e5", `http.clientip = "10.0.0.1" AND http.url ENDSWITH "1e5"`)

	// Annotations: dotted and bracket keys, typed values.
	f(`annotation.gameid = "817DL6VO"`, `annotation.gameid = "817DL6VO"`)
	f("Annotation.Age", "annotation.Age")
	f("!annotation.age", "!annotation.age")
	f("annotation.age > 29", "annotation.age > 29")
	f("annotation[aws:responseLatency] > 100", `annotation["aws:responseLatency"] > 100`)
	f(`annotation [ "odd key" ]`, `annotation["odd key"]`)
	f("annotation[2fa]", "annotation.2fa")
	f("annotation.aws:api_id = x1", `annotation["aws:api_id"] = "x1"`)
	f("annotation.flag = TRUE", "annotation.flag = true")
	f("annotation.flag != false", "annotation.flag != false")
	f("annotation.n != -2.5", "annotation.n != -2.5")
	f(`annotation.s < "b"`, `annotation.s < "b"`)
	f(`annotation.s ENDSWITH x`, `annotation.s ENDSWITH "x"`)

	// service(), edge(), id().
	f("service()", "service()")
	f("service() {}", "service()")
	f("service() { }", "service()")
	f(`SERVICE("x"){fault}`, `service("x") { fault }`)
	f(`service(id(type: "AWS::Lambda::Function", name: "f"))`, `service(id(name: "f", type: "AWS::Lambda::Function"))`)
	f(`service(id(account.id: "1"))`, `service(id(account.id: "1"))`)
	f(`service( "x" ) { root = true and fault = true }`, `service("x") { root AND fault }`)
	f(`service("x") { annotation.k = 1 OR user = bob }`, `service("x") { annotation.k = 1 OR user = "bob" }`)
	f(`edge("a","b")`, `edge("a", "b")`)
	f(`edge("a", id(name: "b")) { error OR fault }`, `edge("a", id(name: "b")) { error OR fault }`)
	f(`edge(id(type: "client"), "a") { responsetime > 1 }`, `edge(id(type: "client"), "a") { responsetime > 1 }`)

	// Root causes.
	f(`rootcause.fault.entity { last and name = "deserialize" }`, `rootcause.fault.entity { last AND name = "deserialize" }`)
	f("RootCause.Error.Exception {}", "rootcause.error.exception {}")
	f("rootcause.fault.service", "rootcause.fault.service {}")
	f(`rootcause.fault.service { inferred and name = traces and type = "AWS::DynamoDB" }`,
		`rootcause.fault.service { inferred AND name = "traces" AND type = "AWS::DynamoDB" }`)
	f(`json = #[{"Services":[{"Name":"a"}]}]`, `rootcause.json = #[{"Services": [{"Name": "a"}]}]`)
	f(`rootcause.json = #[]`, `rootcause.json = #[]`)
	f(`rootcause.json=#[{}, {"Services": []}] ok`, `rootcause.json = #[{}, {}] AND ok`)
	f(`rootcause.json = #[{"services": [{"entitypath": [{"name": "x", "coverage": 0.5, "exceptions": [{"message": "m\u0001"}], "remote": false}],`+
		` "names": ["a", "b"], "inferred": true, "type": null, "accountid": "1"}], "clientimpacting": false}]`,
		`rootcause.json = #[{"Services": [{"Names": ["a", "b"], "AccountId": "1", "Inferred": true, `+
			`"EntityPath": [{"Name": "x", "Exceptions": [{"Message": "m\u0001"}], "Remote": false, "Coverage": 0.5}]}], "ClientImpacting": false}]`)
	f(`!rootcause.json = #[]`, `!(rootcause.json = #[])`)

	// Groups keep their reference in the canonical form.
	f(`group.name = "slow"`, `group.name = "slow"`)
	f(`groupname = Default`, `group.name = "Default"`)
	f(`GroupName != "errors"`, `group.name != "errors"`)
	f(`group.arn = "arn:aws:xray:us-east-1:1:group/slow/x"`, `group.arn = "arn:aws:xray:us-east-1:1:group/slow/x"`)
	f(`grouparn = "arn:aws:xray:us-east-1:1:group/slow/x"`, `group.arn = "arn:aws:xray:us-east-1:1:group/slow/x"`)
	f(`group.name = "empty"`, `group.name = "empty"`)

	// Structure: AND and OR flatten; parentheses only where needed.
	f("fault OR error AND throttle", "fault OR error AND throttle")
	f("(fault OR error) AND throttle", "(fault OR error) AND throttle")
	f("fault AND (error AND throttle)", "fault AND error AND throttle")
	f("(fault OR error) OR throttle", "fault OR error OR throttle")
	f("!(fault OR error)", "!(fault OR error)")
	f("!http.status = 200", "!(http.status = 200)")
	f("(ok)(fault)", "ok AND fault")
	f("ok\n\tand\r\nfault", "ok AND fault")
	f("ok !partial", "ok AND !partial")
}

// TestParseStructure pins precedence and grouping.
func TestParseStructure(t *testing.T) {
	f := func(expr, want string) {
		t.Helper()
		if got := sexpr(mustParse(t, expr).root); got != want {
			t.Errorf("%q\n got %s\nwant %s", expr, got, want)
		}
	}
	f("fault OR error AND throttle", "(or fault (and error throttle))")
	f("fault AND error OR throttle", "(or (and fault error) throttle)")
	f("fault error OR throttle partial", "(or (and fault error) (and throttle partial))")
	f("!fault AND error", "(and (not fault) error)")
	f("!fault OR !error", "(or (not fault) (not error))")
	f("NOT fault error", "(and (not fault) error)")
	f("!(fault error)", "(not (and fault error))")
	f("!http.status = 200 OR ok", "(or (not http.status = 200) ok)")
	f("fault AND (error OR throttle) AND partial", "(and fault (or error throttle) partial)")
	f(`service("a") { fault OR error } ok`, `(and (service("a") (or fault error)) ok)`)
	f(`service("a") { fault error } OR ok`, `(or (service("a") (and fault error)) ok)`)
	f(`group.name = "errors" AND ok`, "(and (group errors (or error fault)) ok)")
	f(`group.name = "nested"`, "(group nested (and (group slow responsetime > 5) ok))")
	f(`group.name = "Default"`, "(group Default )")
}

func TestParseDeepButBounded(t *testing.T) {
	f := func(expr string) {
		t.Helper()
		if _, err := Parse(expr, Options{}); err != nil {
			t.Errorf("%.40q…: %v", expr, err)
		}
	}
	f(strings.Repeat("(", maxDepth) + "ok" + strings.Repeat(")", maxDepth))
	f(strings.Repeat("!", maxDepth) + "ok")
	f(strings.Repeat("ok AND ", 10000) + "ok") // long chains are iterative
	f(strings.Repeat("ok OR ", 10000) + "ok")
}
