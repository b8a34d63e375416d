package filter

import (
	"testing"

	"github.com/counterspy/counterspy/internal/summary"
)

func matcher(t *testing.T) func(expr string, s *summary.Summary, want bool) {
	return func(expr string, s *summary.Summary, want bool) {
		t.Helper()
		e, err := Parse(expr, testOptions)
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			return
		}
		if got := e.Match(s); got != want {
			t.Errorf("%q: Match = %v, want %v", expr, got, want)
		}
	}
}

func TestMatchTraceKeywords(t *testing.T) {
	f := matcher(t)
	plain := trace().done()
	f("", plain, true)

	// ok is "neither fault nor error" at the entry; throttle is any segment.
	f("ok", plain, true)
	f("ok", trace("throttle").done(), true)
	f("ok", trace("error").done(), false)
	f("ok", trace("fault").done(), false)
	f("error", trace("error").done(), true)
	f("error", plain, false)
	f("fault", trace("fault").done(), true)
	f("fault = false", trace("fault").done(), false)
	f("fault != false", trace("fault").done(), true)
	f("throttle", trace("throttle").done(), true)
	f("!throttle", trace("throttle").done(), false)
	f("partial", trace("partial").done(), true)
	f("partial", plain, false)
	f("inferred", trace("inferred").done(), true)
	f("inferred = false", trace("inferred").done(), false)

	// Numbers: each operator on both sides of its boundary.
	rt2 := trace("rt=2", "duration=4").done()
	f("responsetime = 2", rt2, true)
	f("responsetime = 2.0001", rt2, false)
	f("responsetime != 2", rt2, false)
	f("responsetime != 3", rt2, true)
	f("responsetime < 2", rt2, false)
	f("responsetime < 2.5", rt2, true)
	f("responsetime <= 2", rt2, true)
	f("responsetime <= 1.9", rt2, false)
	f("responsetime > 2", rt2, false)
	f("responsetime > 1.5", rt2, true)
	f("responsetime >= 2", rt2, true)
	f("responsetime >= 2.1", rt2, false)
	f("duration > 3", rt2, true)
	f("duration > 4", rt2, false)
	f("responsetime >= 0", plain, true) // always present
	f("duration = 0", plain, true)

	// http.status 0 is absent: comparisons fail, != holds.
	f("http.status = 500", trace("status=500").done(), true)
	f("http.status >= 500", trace("status=404").done(), false)
	f("http.status < 300", plain, false)
	f("http.status >= 0", plain, false)
	f("http.status != 200", plain, true)
	f("!(http.status = 200)", plain, true)

	// HTTP strings from the entry request; case-sensitive; absent has no
	// value.
	post := trace("url=https://api.example.com/v2/orders", "method=POST", "ua=Mozilla/5.0 (X11)", "ip=10.0.0.7").done()
	f("http.method = POST", post, true)
	f(`http.method = "post"`, post, false)
	f(`http.method != "POST"`, post, false)
	f(`http.method != "GET"`, post, true)
	f(`http.url CONTAINS "/v2/"`, post, true)
	f(`http.url CONTAINS "/V2/"`, post, false)
	f(`http.url BEGINSWITH "https://api."`, post, true)
	f(`http.url BEGINSWITH "api."`, post, false)
	f(`http.url ENDSWITH "/orders"`, post, true)
	f(`http.url ENDSWITH "/order"`, post, false)
	f(`http.useragent CONTAINS "X11"`, post, true)
	f(`http.clientip = 10.0.0.7`, post, true)
	f(`http.clientip`, post, true)
	f(`http.clientip`, plain, false)
	f(`http.url CONTAINS ""`, plain, false)
	f(`http.url != "x"`, plain, true)
	f(`!http.url`, plain, true)

	// Multi-valued fields: some value satisfies; != is "no value equals".
	users := trace().svc("web").user("alice", "web").user("bob", "web").done()
	f(`user = "bob"`, users, true)
	f(`user = "carol"`, users, false)
	f(`user != "bob"`, users, false)
	f(`user != "carol"`, users, true)
	f(`user BEGINSWITH "al"`, users, true)
	f(`user ENDSWITH "ob"`, users, true)
	f(`user CONTAINS "z"`, users, false)
	f(`user`, users, true)
	f(`user`, plain, false)
	f(`user != "x"`, plain, true)
	places := trace("az=us-east-1a", "az=us-east-1b", "instance=i-1", "arn=arn:aws:lambda:us-east-1:1:function:f").done()
	f(`availabilityzone = "us-east-1b"`, places, true)
	f(`availabilityzone != "us-east-1b"`, places, false)
	f(`availabilityzone ENDSWITH "c"`, places, false)
	f(`instance.id = i-1`, places, true)
	f(`instance.id != i-1`, places, false)
	f(`resource.arn CONTAINS ":function:"`, places, true)
	f(`resource.arn`, plain, false)
}

func TestMatchAnnotations(t *testing.T) {
	f := matcher(t)
	s := trace().svc("web").svc("db").
		ann("n", 1, "web").ann("n", 2, "db").
		ann("s", "banana", "web").ann("b", true, "db").ann("empty", "", "web").
		ann("aws:api_id", "x1y2", "web").ann("Case", "upper", "web").done()
	// Bare and negated: the key is set, with a value of any type.
	f("annotation.n", s, true)
	f("annotation.b", s, true)
	f("annotation.missing", s, false)
	f("!annotation.missing", s, true)
	f("annotation.case", s, false) // keys are case-sensitive
	f("annotation.Case", s, true)
	f("annotation[aws:api_id] = x1y2", s, true)
	f(`annotation["aws:api_id"] BEGINSWITH "x1"`, s, true)
	f("annotation.aws:api_id", s, true)

	// Numbers: some value satisfies; != holds when no value equals.
	f("annotation.n = 2", s, true)
	f("annotation.n = 3", s, false)
	f("annotation.n > 1", s, true)
	f("annotation.n > 2", s, false)
	f("annotation.n >= 2", s, true)
	f("annotation.n < 2", s, true)
	f("annotation.n <= 0.5", s, false)
	f("annotation.n != 1", s, false)
	f("annotation.n != 3", s, true)
	f("annotation.missing != 3", s, true)
	f("annotation.missing > 0", s, false)

	// Values compare only with values of their own type.
	f(`annotation.n = "1"`, s, false)
	f(`annotation.n CONTAINS ""`, s, false)
	f(`annotation.s = banana`, s, true)
	f(`annotation.s CONTAINS "nan"`, s, true)
	f(`annotation.s BEGINSWITH "ban" annotation.s ENDSWITH "ana"`, s, true)
	f(`annotation.s > "apple"`, s, true) // byte-wise order
	f(`annotation.s < "apple"`, s, false)
	f(`annotation.s <= "banana"`, s, true)
	f(`annotation.s >= "cherry"`, s, false)
	f(`annotation.s = 1`, s, false)
	f(`annotation.empty CONTAINS ""`, s, true) // an empty string is a value
	f(`annotation.empty = ""`, s, true)
	f(`annotation.b = true`, s, true)
	f(`annotation.b = false`, s, false)
	f(`annotation.b != true`, s, false)
	f(`annotation.b != false`, s, true)
	f(`annotation.b = "true"`, s, false)
	f(`annotation.s CONTAINS 5`, trace().svc("web").ann("s", "a5", "web").done(), true) // a bare value after CONTAINS is a string
}

func TestMatchService(t *testing.T) {
	f := matcher(t)
	s := trace().
		svc("web", "type=AWS::EC2::Instance", "account=111", "ok", "rt=0.5", "status=200", "method=GET", "url=/home").
		svc("fn", "type=AWS::Lambda", "names=fn|fn-alias", "error", "rt=3", "status=404", "partial").
		svc("fn", "type=AWS::Lambda::Function", "account=222", "fault", "throttle").
		svc("Table", "type=AWS::DynamoDB::Table", "inferred", "ok").
		user("alice", "web").user("bob", "fn").
		ann("tier", "gold", "fn").ann("web_only", 1, "web").done()
	f(`service("web")`, s, true)
	f(`service("WEB")`, s, false)
	f(`service("fn-alias")`, s, true) // any of Names
	f(`service("nope")`, s, false)
	f(`!service("nope")`, s, true)
	f(`!service("web")`, s, false)
	f(`service()`, s, true)
	f(`service()`, trace().done(), false)
	f(`service(id(name: "fn", type: "AWS::Lambda::Function"))`, s, true)
	f(`service(id(name: "fn", type: "AWS::EC2::Instance"))`, s, false)
	f(`service(id(account.id: "222"))`, s, true)
	f(`service(id(name: "web", account.id: "222"))`, s, false)

	// The block describes the same node.
	f(`service("web") { ok }`, s, true)
	f(`service("web") { fault }`, s, false)
	f(`service("fn") { fault }`, s, true) // the second fn node
	f(`service(id(name: "fn", type: "AWS::Lambda")) { fault }`, s, false)
	f(`service("fn") { error AND fault }`, s, false) // never the same node
	f(`service("fn") { throttle }`, s, true)
	f(`service("Table") { inferred }`, s, true)
	f(`service("web") { inferred }`, s, false)
	f(`service("web") { root }`, s, true)
	f(`service("fn") { root }`, s, false)
	f(`service() { root AND type = "AWS::EC2::Instance" }`, s, true)
	f(`service("web") { responsetime < 1 }`, s, true)
	f(`service("fn") { responsetime > 2 }`, s, true)
	f(`service("web") { http.status = 200 AND http.method = GET AND http.url = "/home" }`, s, true)
	f(`service("fn") { http.status = 404 }`, s, true)
	f(`service("Table") { http.status != 200 }`, s, true)
	f(`service("fn") { partial }`, s, true)
	f(`service("web") { partial }`, s, false)
	f(`service() { name = "fn-alias" }`, s, true)
	f(`service("fn") { name != "fn-alias" }`, s, true) // the other fn node has no alias
	f(`service("web") { name BEGINSWITH "w" AND type ENDSWITH "Instance" AND account.id = "111" }`, s, true)
	f(`service("Table") { account.id }`, s, false)
	f(`service("Table") { !account.id }`, s, true)

	// user and annotation are those the node set.
	f(`service("web") { user = "alice" }`, s, true)
	f(`service("web") { user = "bob" }`, s, false)
	f(`service("Table") { user }`, s, false)
	f(`service("fn") { annotation.tier = "gold" }`, s, true)
	f(`service("web") { annotation.tier }`, s, false)
	f(`service("web") { !annotation.tier AND annotation.web_only = 1 }`, s, true)
	f(`service() { fault } AND service() { ok }`, s, true)
	f(`service() { !fault AND !ok }`, s, true) // fn (AWS::Lambda) has neither
}

func TestMatchEdge(t *testing.T) {
	f := matcher(t)
	s := trace().svc("api", "names=api|api.example.com").svc("db").svc("fn", "type=AWS::Lambda").
		edge("", "api", "ok", "rt=1", "status=200", "method=GET").
		edge("api", "db", "error", "rt=0.2", "status=404", "url=http://db/x", "partial").
		edge("api", "fn", "fault", "throttle", "rt=2").done()
	f(`edge("api", "db")`, s, true)
	f(`edge("db", "api")`, s, false)
	f(`edge("api.example.com", "db")`, s, true)
	f(`edge("api", id(type: "AWS::Lambda"))`, s, true)
	f(`edge("api", id(name: "db", type: "AWS::Lambda"))`, s, false)
	f(`edge("api", "db") { error }`, s, true)
	f(`edge("api", "db") { fault }`, s, false)
	f(`edge("api", "db") { ok }`, s, false)
	f(`edge("api", "fn") { fault AND throttle AND responsetime >= 2 }`, s, true)
	f(`edge("api", "db") { http.status = 404 AND http.url BEGINSWITH "http://db" AND partial }`, s, true)
	f(`edge("api", "fn") { partial }`, s, false)
	f(`edge("api", "db") { responsetime > 1 }`, s, false)
	f(`!edge("db", "fn")`, s, true)

	// The client end of the entry edge answers only to id(type: "client").
	f(`edge("api", "api")`, s, false)
	f(`edge(id(type: "client"), "api") { ok AND http.method = GET }`, s, true)
	f(`edge(id(name: "api", type: "client"), "api")`, s, true)
	f(`edge(id(name: "api.example.com", type: "client"), id(type: "client"))`, s, false)
	f(`edge(id(name: "db", type: "client"), "api")`, s, false)
	f(`edge(id(type: "client", account.id: "1"), "api")`, s, false)

	// Edges whose ends are out of range are skipped, not followed.
	bad := trace().svc("a").done()
	bad.Edges = []summary.Edge{{From: 5, To: 0}, {From: 0, To: 7}, {From: -2, To: 0}}
	f(`edge(id(type: "client"), "a") OR edge("a", "a") OR service("a") { root }`, bad, true)
	f(`edge(id(type: "client"), "a") OR edge("a", "a")`, bad, false)
}

func TestMatchRootCause(t *testing.T) {
	f := matcher(t)
	// One fault root cause through three services (entities enumerated
	// across them), and a second, separate one.
	s := trace().
		cause("!fault",
			rcSvc("api", "type=AWS::EC2::Instance account=111", rcEnt("api"), rcEnt("handler")),
			rcSvc("orders", "type=AWS::Lambda::Function names=orders|orders-fn", rcEnt("orders", "exc=ValueError:bad input", "exc=KeyError:id")),
			rcSvc("Table", "type=AWS::DynamoDB::Table inferred", rcEnt("Table", "remote", "exc=ProvisionedThroughputExceeded:slow down"))).
		cause("fault", rcSvc("cron", "", rcEnt("cron"), rcEnt("job", "exc=Timeout:late"))).
		cause("error", rcSvc("auth", "", rcEnt("auth", "exc=Forbidden:not authorized"))).
		cause("responsetime", rcSvc("api", "", rcEnt("api", "coverage=1"), rcEnt("S3", "remote", "coverage=0.8"))).done()

	// Services: index per root cause, first and last.
	f(`rootcause.fault.service { name = "api" AND first AND index = 0 }`, s, true)
	f(`rootcause.fault.service { name = "Table" AND last AND index = 2 }`, s, true)
	f(`rootcause.fault.service { name = "orders" AND (first OR last) }`, s, false)
	f(`rootcause.fault.service { name = "cron" AND first AND last AND index = 0 }`, s, true)
	f(`rootcause.fault.service { index > 2 }`, s, false)
	f(`rootcause.fault.service { name = "orders-fn" }`, s, true)
	f(`rootcause.fault.service { type = "AWS::DynamoDB::Table" AND inferred }`, s, true)
	f(`rootcause.fault.service { account.id = "111" AND !inferred }`, s, true)
	f(`rootcause.fault.service { name = "auth" }`, s, false) // an error root cause
	f(`rootcause.error.service { name = "auth" }`, s, true)
	f(`rootcause.error.service { name = "api" }`, s, false)

	// Entities: enumerated across the root cause's services, in path order.
	f(`rootcause.fault.entity { first AND name = "api" }`, s, true)
	f(`rootcause.fault.entity { index = 1 AND name = "handler" }`, s, true)
	f(`rootcause.fault.entity { index = 2 AND name = "orders" }`, s, true)
	f(`rootcause.fault.entity { last AND name = "Table" AND index = 3 }`, s, true)
	f(`rootcause.fault.entity { last AND name = "handler" }`, s, false)
	f(`rootcause.fault.entity { last AND name = "job" AND index = 1 }`, s, true)
	f(`rootcause.fault.entity { remote AND inferred AND type = "AWS::DynamoDB::Table" }`, s, true)
	f(`rootcause.fault.entity { name = "handler" AND account.id = "111" }`, s, true)
	f(`rootcause.fault.entity { message CONTAINS "bad" }`, s, true)
	f(`rootcause.fault.entity { message = "late" AND name = "job" }`, s, true)
	f(`rootcause.fault.entity { message = "late" AND name = "cron" }`, s, false)
	f(`rootcause.responsetime.entity { remote AND coverage >= 0.8 AND last }`, s, true)
	f(`rootcause.responsetime.entity { coverage > 0.8 AND !first }`, s, false)

	// Exceptions: enumerated across the entities of the root cause.
	f(`rootcause.fault.exception { name = "ValueError" AND first }`, s, true)
	f(`rootcause.fault.exception { name = "KeyError" AND index = 1 AND !remote }`, s, true)
	f(`rootcause.fault.exception { last AND remote AND message BEGINSWITH "slow" AND index = 2 }`, s, true)
	f(`rootcause.fault.exception { name = "Timeout" AND first AND last }`, s, true)
	f(`rootcause.error.exception { message = "not authorized" }`, s, true)
	f(`rootcause.error.exception { message = "late" }`, s, false)

	// Without a block: the list has an element.
	f(`rootcause.fault.service`, s, true)
	f(`rootcause.error.exception {}`, s, true)
	f(`rootcause.fault.service`, trace().done(), false)
	f(`rootcause.error.exception`, trace().cause("error", rcSvc("a", "", rcEnt("a"))).done(), false)
	f(`!rootcause.responsetime.entity { coverage < 0.5 }`, s, true)
}

func TestMatchRootCauseJSON(t *testing.T) {
	f := matcher(t)
	s := trace().
		cause("!fault",
			rcSvc("api", "type=AWS::EC2::Instance account=111 names=api|api.example.com", rcEnt("api"), rcEnt("handler"), rcEnt("DynamoDB", "remote", "exc=ThroughputExceeded:slow down")),
			rcSvc("Table", "type=AWS::DynamoDB::Table inferred", rcEnt("Table"))).
		cause("responsetime", rcSvc("api", "", rcEnt("api", "coverage=1"), rcEnt("S3", "remote", "coverage=0.75"))).done()
	f(`rootcause.json = #[]`, s, true)
	f(`rootcause.json = #[]`, trace().done(), true)
	f(`rootcause.json = #[{}]`, trace().done(), false)
	f(`rootcause.json = #[{"Services": [{"Name": "api"}]}]`, s, true)
	f(`rootcause.json = #[{"Services": [{"Name": "API"}]}]`, s, false)
	f(`rootcause.json = #[{"ClientImpacting": true, "Services": [{"Name": "Table", "Inferred": true}]}]`, s, true)
	f(`rootcause.json = #[{"ClientImpacting": false, "Services": [{"Name": "Table"}]}]`, s, false)
	// Arrays: a subsequence, in order.
	f(`rootcause.json = #[{"Services": [{"Name": "api"}, {"Name": "Table"}]}]`, s, true)
	f(`rootcause.json = #[{"Services": [{"Name": "Table"}, {"Name": "api"}]}]`, s, false)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Name": "api"}, {"Name": "DynamoDB"}]}]}]`, s, true)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Name": "DynamoDB"}, {"Name": "api"}]}]}]`, s, false)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Name": "api"}, {"Name": "api"}]}]}]`, s, false)
	f(`rootcause.json = #[{"Services": [{"Names": ["api.example.com"], "Type": "AWS::EC2::Instance", "AccountId": "111"}]}]`, s, true)
	f(`rootcause.json = #[{"Services": [{"Names": ["api.example.com", "api"]}]}]`, s, false)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Remote": true, "Exceptions": [{"Name": "ThroughputExceeded", "Message": "slow down"}]}]}]}]`, s, true)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Exceptions": [{"Message": "fast"}]}]}]}]`, s, false)
	// Coverage exists only in response-time root causes.
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Name": "S3", "Coverage": 0.75}]}]}]`, s, true)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Name": "S3", "Coverage": 0.7}]}]}]`, s, false)
	f(`rootcause.json = #[{"Services": [{"EntityPath": [{"Name": "api", "Coverage": 0}]}]}]`, s, false)
	// Two root causes of the pattern need two of the same list.
	f(`rootcause.json = #[{"Services": [{"Name": "api"}]}, {"Services": [{"Name": "api"}]}]`, s, false)
	f(`rootcause.json = #[{"Services": [{"Name": "api", "Type": null}]}]`, s, true)
}

func TestMatchGroups(t *testing.T) {
	f := matcher(t)
	slow, fast := trace("rt=6").done(), trace("rt=1", "fault").done()
	f(`group.name = "slow"`, slow, true)
	f(`group.name = "slow"`, fast, false)
	f(`group.name != "slow"`, fast, true)
	f(`group.name != "slow"`, slow, false)
	f(`group.arn = "arn:aws:xray:us-east-1:1:group/slow/x"`, slow, true)
	f(`group.name = "errors" AND !group.name = "slow"`, fast, true)
	f(`group.name = "nested"`, slow, true)
	f(`group.name = "nested"`, trace("rt=6", "error").done(), false)
	f(`group.name = "Default"`, fast, true)
	f(`group.name != "Default"`, fast, false)
	f(`group.name = "empty"`, fast, true)
}
