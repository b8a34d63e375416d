package filter

import (
	"testing"

	"github.com/counterspy/counterspy/internal/summary"
)

// TestDocExamples: every example of AWS's filter expression page
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html) parses to the canonical
// form shown, matches the first summary and not the second.
func TestDocExamples(t *testing.T) {
	f := func(expr, canonical string, yes, no *summary.Summary) {
		t.Helper()
		e, err := Parse(expr, testOptions)
		if err != nil {
			t.Errorf("Parse(%q): %v", expr, err)
			return
		}
		if got := e.String(); got != canonical {
			t.Errorf("Parse(%q).String()\n got %s\nwant %s", expr, got, canonical)
		}
		if again := mustParse(t, e.String()); !equalTrees(e, again) {
			t.Errorf("%q: canonical form parses differently", expr)
		}
		if !e.Match(yes) {
			t.Errorf("%q does not match the summary it should", expr)
		}
		if e.Match(no) {
			t.Errorf("%q matches the summary it should not", expr)
		}
	}
	f("responsetime > 5", "responsetime > 5",
		trace("rt=5.5").done(), trace("rt=5").done())
	f("duration >= 5 AND duration <= 8", "duration >= 5 AND duration <= 8",
		trace("duration=8").done(), trace("duration=8.01").done())
	f("ok", "ok",
		trace("throttle").done(), trace("error").done())
	f("!ok", "!ok",
		trace("fault").done(), trace().done())
	f("ok = false", "ok = false",
		trace("error").done(), trace().done())
	f("http.status != 200", "http.status != 200",
		trace("status=500").done(), trace("status=200").done())
	f("ok !partial duration <3", "ok AND !partial AND duration < 3",
		trace("duration=2").done(), trace("duration=2", "partial").done())
	f(`http.url CONTAINS "/api/game/"`, `http.url CONTAINS "/api/game/"`,
		trace("url=http://x/api/game/42").done(), trace("url=http://x/api/user/42").done())
	f(`user CONTAINS ""`, `user CONTAINS ""`,
		trace().svc("web").user("alice", "web").done(), trace().svc("web").done())
	f(`service("api.example.com") { fault }`, `service("api.example.com") { fault }`,
		trace().svc("web").svc("api.example.com", "fault").done(),
		trace("fault").svc("web", "fault").svc("api.example.com", "ok").done())
	f("service() { fault }", "service() { fault }",
		trace().svc("web").svc("db", "fault").done(), trace("fault").svc("web", "error").done())
	f(`edge("api.example.com", "backend.example.com") { error }`, `edge("api.example.com", "backend.example.com") { error }`,
		trace().svc("api.example.com").svc("backend.example.com").edge("api.example.com", "backend.example.com", "error").done(),
		trace().svc("api.example.com").svc("backend.example.com").edge("backend.example.com", "api.example.com", "error").done())
	f(`http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")`,
		`http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")`,
		trace("url=http://api.example.com/v2/x").svc("web").done(),
		trace("url=http://api.example.com/v2/x").svc("web").svc("api.example.com").done())
	f("http.url AND responseTime > 2", "http.url AND responsetime > 2",
		trace("url=/x", "rt=3").done(), trace("rt=3").done())
	f(`annotation.gameid = "817DL6VO"`, `annotation.gameid = "817DL6VO"`,
		trace().svc("web").ann("gameid", "817DL6VO", "web").done(), trace().svc("web").ann("gameid", "817dl6vo", "web").done())
	f("annotation.age", "annotation.age",
		trace().svc("web").ann("age", 30, "web").done(), trace().svc("web").ann("Age", 30, "web").done())
	f("!annotation.age", "!annotation.age",
		trace().done(), trace().svc("web").ann("age", false, "web").done())
	f("annotation.age > 29", "annotation.age > 29",
		trace().svc("web").ann("age", 29.5, "web").done(), trace().svc("web").ann("age", "30", "web").done())
	f(`group.name = "high_response_time" AND user = "alice"`, `group.name = "high_response_time" AND user = "alice"`,
		trace("rt=5").svc("web").user("alice", "web").done(), trace("rt=4.9").svc("web").user("alice", "web").done())
	f(`service("api.example.com") { fault = true OR responsetime > 2.5 } AND annotation.account = "12345"`,
		`service("api.example.com") { fault OR responsetime > 2.5 } AND annotation.account = "12345"`,
		trace().svc("web").svc("api.example.com", "rt=3").ann("account", "12345", "web").done(),
		trace().svc("web").svc("api.example.com", "rt=3").ann("account", 12345, "web").done())
	f(`service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }`,
		`service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }`,
		trace().svc("random-name", "type=AWS::Lambda").svc("random-name", "type=AWS::Lambda::Function", "error").done(),
		trace().svc("random-name", "type=AWS::Lambda", "error").svc("random-name", "type=AWS::Lambda::Function").done())
	f(`service(id(type: "AWS::Lambda::Function")) { error }`, `service(id(type: "AWS::Lambda::Function")) { error }`,
		trace().svc("f", "type=AWS::Lambda::Function", "error").done(), trace().svc("f", "type=AWS::Lambda", "error").done())
	f(`service(id(account.id: "123456789012"))`, `service(id(account.id: "123456789012"))`,
		trace().svc("web").svc("db", "account=123456789012").done(), trace().svc("web", "account=210987654321").done())
	f(`service("data-plane") {root = true and fault = true}`, `service("data-plane") { root AND fault }`,
		trace().svc("data-plane", "fault").done(), trace().svc("web").svc("data-plane", "fault").done())
	f(`rootcause.fault.entity { last and name = "deserialize" }`, `rootcause.fault.entity { last AND name = "deserialize" }`,
		trace().cause("fault", rcSvc("api", "", rcEnt("api"), rcEnt("deserialize"))).done(),
		trace().cause("fault", rcSvc("api", "", rcEnt("deserialize"), rcEnt("parse"))).done())
	f(`rootcause.responsetime.entity { remote and coverage > 0.7 and name = "traces" }`,
		`rootcause.responsetime.entity { remote AND coverage > 0.7 AND name = "traces" }`,
		trace().cause("responsetime", rcSvc("api", "", rcEnt("api", "coverage=1"), rcEnt("traces", "remote", "coverage=0.8"))).done(),
		trace().cause("responsetime", rcSvc("api", "", rcEnt("api", "coverage=1"), rcEnt("traces", "remote", "coverage=0.7"))).done())
	f(`rootcause.fault.service { inferred and name = traces and type = "AWS::DynamoDB" }`,
		`rootcause.fault.service { inferred AND name = "traces" AND type = "AWS::DynamoDB" }`,
		trace().cause("fault", rcSvc("api", ""), rcSvc("traces", "type=AWS::DynamoDB inferred")).done(),
		trace().cause("error", rcSvc("traces", "type=AWS::DynamoDB inferred")).done())
	sixServices := make([]summary.RootCauseService, 6)
	for i := range sixServices {
		sixServices[i] = rcSvc("s", "")
	}
	f("rootcause.fault.service { index > 5 }", "rootcause.fault.service { index > 5 }",
		trace().cause("fault", append(sixServices, rcSvc("s", ""))...).done(), trace().cause("fault", sixServices...).done())
	f(`rootcause.responsetime.service { last and type = "AWS::DynamoDB" }`,
		`rootcause.responsetime.service { last AND type = "AWS::DynamoDB" }`,
		trace().cause("responsetime", rcSvc("api", ""), rcSvc("t", "type=AWS::DynamoDB")).done(),
		trace().cause("responsetime", rcSvc("t", "type=AWS::DynamoDB"), rcSvc("api", "")).done())
	f(`rootcause.error.exception { message CONTAINS "not authorized" }`,
		`rootcause.error.exception { message CONTAINS "not authorized" }`,
		trace().cause("error", rcSvc("api", "", rcEnt("api"), rcEnt("S3", "remote", "exc=AccessDenied:user is not authorized"))).done(),
		trace().cause("fault", rcSvc("api", "", rcEnt("S3", "remote", "exc=AccessDenied:user is not authorized"))).done())
	f(`rootcause.json = #[{ "Services": [ { "Name": "GetWeatherData", "EntityPath": [{ "Name": "GetWeatherData" }, { "Name": "get_temperature" } ] } ] }]`,
		`rootcause.json = #[{"Services": [{"Name": "GetWeatherData", "EntityPath": [{"Name": "GetWeatherData"}, {"Name": "get_temperature"}]}]}]`,
		trace().cause("!responsetime", rcSvc("GetWeatherData", "type=AWS::Lambda::Function",
			rcEnt("GetWeatherData", "coverage=1"), rcEnt("Invocation", "coverage=0.9"), rcEnt("get_temperature", "coverage=0.8"))).done(),
		trace().cause("!responsetime", rcSvc("GetWeatherData", "type=AWS::Lambda::Function",
			rcEnt("get_temperature", "coverage=1"), rcEnt("GetWeatherData", "coverage=0.9"))).done())
	f(`fault = true AND http.url CONTAINS "example/game" AND responsetime >= 5`,
		`fault AND http.url CONTAINS "example/game" AND responsetime >= 5`,
		trace("fault", "url=https://example/game/1", "rt=5").done(), trace("error", "url=https://example/game/1", "rt=5").done())
}
