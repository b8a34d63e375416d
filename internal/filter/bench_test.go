package filter

import "testing"

// benchExprs are typical expressions, each with whether it matches the
// realistic summary (so that a benchmark does not measure an early miss by
// mistake).
var benchExprs = []struct {
	name, src string
	match     bool
}{
	{"fault", "fault", true},
	{"service", `service("payments") { fault }`, true},
	{"annotation", `annotation.customer_tier = "gold"`, true},
	{"responsetime_method", `responsetime > 2 AND http.method = "POST"`, true},
	{"edge", `edge("orders", "payments") { fault AND responsetime > 1.5 }`, true},
	{"rootcause", `rootcause.fault.entity { last AND remote AND name = "bank.example.com" }`, true},
	{"miss", `service("nope") OR annotation.missing = 1 OR edge("auth", "orders")`, false},
}

func BenchmarkParse(b *testing.B) {
	const src = `http.url BEGINSWITH "https://api.example.com/" AND (responsetime > 2.5 OR fault) ` +
		`AND service(id(name: "orders", type: "AWS::Lambda::Function")) { error OR annotation[aws:responseLatency] > 100 } ` +
		`AND edge("orders", "payments") { fault } AND !annotation.retry AND rootcause.fault.entity { last AND remote } ` +
		`AND user = "alice"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	s := realistic()
	for _, bx := range benchExprs {
		e := mustParse(b, bx.src)
		if e.Match(s) != bx.match {
			b.Fatalf("%q: Match = %v", bx.src, !bx.match)
		}
		b.Run(bx.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Match(s)
			}
		})
	}
}
