package filter

import (
	"errors"
	"strings"
	"testing"
)

// TestErrors pins the messages users see for their mistakes.
func TestErrors(t *testing.T) {
	f := func(expr, want string) {
		t.Helper()
		e, err := Parse(expr, testOptions)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want error %s", expr, e, want)
			return
		}
		if got := err.Error(); got != want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", expr, got, want)
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(expr) {
			t.Errorf("Parse(%q): error %#v is not an *Error with a position in the expression", expr, err)
		}
	}
	// Types.
	f(`responsetime > "fast"`, `filter expression: column 16: expected a number after "responsetime >", found "\"fast\""`)
	f(`responsetime CONTAINS "x"`, `filter expression: column 14: operator "CONTAINS" does not apply to responsetime, a number keyword; use =, !=, <, <=, > or >=`)
	f(`duration`, `filter expression: column 9: expected a comparison (=, !=, <, <=, > or >=) after "duration", found end of expression`)
	f(`http.url > 3`, `filter expression: column 10: operator ">" does not apply to http.url, a string keyword; use =, !=, CONTAINS, BEGINSWITH or ENDSWITH`)
	f(`http.url = true`, `filter expression: column 12: expected a string after "http.url =", found "true" (quote it to use it as a value)`)
	f(`user = AND ok`, `filter expression: column 8: expected a string after "user =", found "AND" (quote it to use it as a value)`)
	f(`http.method =`, `filter expression: column 14: expected a string after "http.method =", found end of expression`)
	f(`ok = 5`, `filter expression: column 6: expected true or false after "ok =", found "5"`)
	f(`fault != "true"`, `filter expression: column 10: expected true or false after "fault !=", found "\"true\""`)
	f(`ok > true`, `filter expression: column 4: operator ">" does not apply to ok, a boolean keyword; use = or !=`)
	f(`partial contains "x"`, `filter expression: column 9: operator "contains" does not apply to partial, a boolean keyword; use = or !=`)
	f(`http.status = "200"`, `filter expression: column 15: expected a number after "http.status =", found "\"200\""`)
	f(`annotation.x > true`, `filter expression: column 16: expected a number or a string after "annotation.x >", found "true"`)
	f(`annotation.x CONTAINS false`, `filter expression: column 23: expected a string after "annotation.x CONTAINS", found "false"`)
	f(`annotation.x = (`, `filter expression: column 16: expected a string, a number, true or false after "annotation.x =", found "("`)
	f(`annotation.ip = 10.0.0.1`, `filter expression: column 17: invalid number "10.0.0.1"`)
	f(`responsetime > 1e999`, `filter expression: column 16: number "1e999" is out of range`)
	f(`responsetime > 5xx`, `filter expression: column 16: invalid number "5xx"`)
	f(`ok == true`, `filter expression: column 4: "==" is not an operator; use =`)

	// Keywords out of place.
	f(`foo = 1`, `filter expression: column 1: unknown keyword "foo"`)
	f(`fault AND bar`, `filter expression: column 11: unknown keyword "bar"`)
	f(`root`, `filter expression: column 1: "root" can only be used inside service() { }`)
	f(`ok first`, `filter expression: column 4: "first" can only be used inside a rootcause block`)
	f(`last`, `filter expression: column 1: "last" can only be used inside a rootcause block`)
	f(`index > 2`, `filter expression: column 1: "index" can only be used inside a rootcause block`)
	f(`remote`, `filter expression: column 1: "remote" can only be used inside a rootcause entity or exception block`)
	f(`coverage > 0.5`, `filter expression: column 1: "coverage" can only be used inside rootcause.responsetime.entity { }`)
	f(`name = "x"`, `filter expression: column 1: "name" can only be used inside service() { } or a rootcause block`)
	f(`account.id = "1"`, `filter expression: column 1: "account.id" can only be used inside service() { } or a rootcause block`)
	f(`service("a") { duration > 1 }`, `filter expression: column 16: "duration" cannot be used inside service() { }; it applies to the whole trace`)
	f(`edge("a", "b") { root }`, `filter expression: column 18: "root" cannot be used inside edge() { }; use it inside service() { }`)
	f(`edge("a", "b") { user = "x" }`, `filter expression: column 18: "user" cannot be used inside edge() { }; it applies to the whole trace`)
	f(`rootcause.fault.entity { coverage > 0.5 }`, `filter expression: column 26: "coverage" cannot be used inside rootcause.fault.entity { }; use it inside rootcause.responsetime.entity { }`)
	f(`rootcause.responsetime.entity { message = "x" }`, `filter expression: column 33: "message" cannot be used inside rootcause.responsetime.entity { }; use it inside a rootcause.fault or rootcause.error entity or exception block`)
	f(`rootcause.fault.exception { type = "X" }`, `filter expression: column 29: "type" cannot be used inside rootcause.fault.exception { }; an exception's type is its name`)
	f(`rootcause.fault.service { remote }`, `filter expression: column 27: "remote" cannot be used inside rootcause.fault.service { }; use it inside a rootcause entity or exception block`)
	f(`rootcause.fault.service { annotation.x }`, `filter expression: column 27: annotations cannot be used inside rootcause.fault.service { }`)
	f(`service("a") { service("b") }`, `filter expression: column 16: service() cannot be used inside service() { }`)
	f(`edge("a", "b") { rootcause.fault.service {} }`, `filter expression: column 18: rootcause.fault.service cannot be used inside edge() { }`)
	f(`service() { group.name = "slow" }`, `filter expression: column 13: group.name cannot be used inside service() { }`)
	f(`service() { json = #[] }`, `filter expression: column 13: rootcause.json cannot be used inside service() { }`)
	f(`id(name: "x")`, `filter expression: column 1: id() can only be used inside service() or edge()`)
	f(`rootcause.fault.foo {}`, `filter expression: column 1: unknown keyword "rootcause.fault.foo"; expected rootcause.fault, rootcause.error or rootcause.responsetime followed by .service, .entity or .exception, or rootcause.json`)
	f(`rootcause {}`, `filter expression: column 1: unknown keyword "rootcause"; expected rootcause.fault, rootcause.error or rootcause.responsetime followed by .service, .entity or .exception, or rootcause.json`)
	f(`rootcause.responsetime.exception {}`, `filter expression: column 1: response-time root causes have no exceptions; use rootcause.fault.exception or rootcause.error.exception`)

	// service(), edge(), id().
	f(`service`, `filter expression: column 8: expected "(" after "service", found end of expression`)
	f(`service(api)`, `filter expression: column 9: expected a quoted service name or id(...) after "service(", found "api"`)
	f(`service("")`, `filter expression: column 9: a service name must not be empty`)
	f(`service("a"`, `filter expression: column 12: expected ")" after "service(\"a\"", found end of expression`)
	f(`edge("a")`, `filter expression: column 9: expected "," after "edge(\"a\"", found ")"`)
	f(`edge("a", )`, `filter expression: column 11: expected a quoted service name or id(...) after "edge(\"a\",", found ")"`)
	f(`service(id())`, `filter expression: column 12: expected name:, type: or account.id: after "id(", found ")"`)
	f(`service(id(nome: "x"))`, `filter expression: column 12: expected name:, type: or account.id: after "id(", found "nome"`)
	f(`service(id(name "x"))`, `filter expression: column 17: expected ":" after "id(name", found "\"x\""`)
	f(`service(id(name: x))`, `filter expression: column 18: expected a quoted string after "id(name:", found "x"`)
	f(`service(id(name: "a", name: "b"))`, `filter expression: column 23: name: is given twice in id()`)
	f(`service(id(type: ""))`, `filter expression: column 12: type: must not be empty`)
	f(`service(id(name: "a" type: "b"))`, `filter expression: column 22: expected ")" after "id(name: \"a\"", found "type"`)

	// Annotations.
	f(`annotation.`, `filter expression: column 12: expected an annotation key after "annotation."`)
	f(`annotation[]`, `filter expression: column 12: an annotation key must not be empty`)
	f(`annotation[""]`, `filter expression: column 12: an annotation key must not be empty`)
	f(`annotation = 5`, `filter expression: column 12: expected "." or "[" and an annotation key after "annotation", found "="`)
	f(`annotation[@]`, `filter expression: column 12: unexpected character '@'`)
	f(`annotation[a b]`, `filter expression: column 14: expected "]" after "annotation[a", found "b"`)

	// Structure.
	f(`fault AND`, `filter expression: column 10: expected a filter term after "AND", found end of expression`)
	f(`fault or`, `filter expression: column 9: expected a filter term after "or", found end of expression`)
	f(`AND ok`, `filter expression: column 1: expected a filter term, found "AND"`)
	f(`!`, `filter expression: column 2: expected a filter term after "!", found end of expression`)
	f(`NOT`, `filter expression: column 4: expected a filter term after "NOT", found end of expression`)
	f(`()`, `filter expression: column 2: expected a filter expression after "(", found ")"`)
	f(`(fault`, `filter expression: column 7: expected ")" to close "(" at column 1, found end of expression`)
	f(`((fault) OR error`, `filter expression: column 18: expected ")" to close "(" at column 1, found end of expression`)
	f(`fault)`, `filter expression: column 6: ")" has no matching "("`)
	f(`ok }`, `filter expression: column 4: "}" has no matching "{"`)
	f(`service("a") { fault`, `filter expression: column 21: expected "}" to close "{" at column 14, found end of expression`)
	f(`service("a") { (fault }`, `filter expression: column 23: expected ")" to close "(" at column 16, found "}"`)
	f(`(service("a") { fault )`, `filter expression: column 23: expected "}" to close "{" at column 15, found ")"`)
	f(`service("a") { fault "x" }`, `filter expression: column 22: expected AND, OR or "}", found "\"x\""`)
	f(`(fault 5)`, `filter expression: column 8: expected AND, OR or ")", found "5"`)
	f(`service("a") { = }`, `filter expression: column 16: expected a filter expression or "}" after "{", found "="`)
	f(`responsetime > 5 6`, `filter expression: column 18: expected AND, OR or the end of the expression, found "6"`)
	f(`fault CONTAINS`, `filter expression: column 7: operator "CONTAINS" does not apply to fault, a boolean keyword; use = or !=`)
	f(`service("a") CONTAINS`, `filter expression: column 14: expected AND, OR or the end of the expression, found "CONTAINS"`)
	f(`= 5`, `filter expression: column 1: expected a filter term, found "="`)
	f(`http.url = "abc`, `filter expression: column 12: unterminated string: missing closing "`)
	f(`http.url = "abc\"`, `filter expression: column 12: unterminated string: missing closing "`)
	f(`fault @`, `filter expression: column 7: unexpected character '@'`)
	f(`fault ✓`, `filter expression: column 7: unexpected character '✓'`)
	f(`http.url = "é✓" 5`, `filter expression: column 17: expected AND, OR or the end of the expression, found "5"`)
	f(`http.url = "`+strings.Repeat("x", 60)+`" "`+strings.Repeat("y", 60)+`"`,
		`filter expression: column 75: expected AND, OR or the end of the expression, found "\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy…"`)
	f(strings.Repeat("(", maxDepth+1)+"ok"+strings.Repeat(")", maxDepth+1),
		`filter expression: column 101: expression is nested too deeply (more than 100 levels)`)
	f(strings.Repeat("!", maxDepth+1)+"ok", `filter expression: column 101: expression is nested too deeply (more than 100 levels)`)

	// rootcause.json.
	f(`rootcause.json != #[]`, `filter expression: column 16: expected "=" after "rootcause.json", found "!="`)
	f(`json = []`, `filter expression: column 8: expected "#" and a JSON array after "json =", found "["`)
	f(`json = #{}`, `filter expression: column 9: expected a JSON array after "json = #", found "{"`)
	f(`json = #`, `filter expression: column 9: expected a JSON array after "json = #", found end of expression`)
	f(`json = #[{]`, `filter expression: column 11: invalid JSON after "#": invalid character ']' looking for beginning of object key string`)
	f(`json = #[{"Services": [}] ok`, `filter expression: column 24: invalid JSON after "#": invalid character '}' looking for beginning of value`)
	f(`json = #[`, `filter expression: column 10: invalid JSON after "#": the array is not closed`)
	f(`json = #[{"Foo": 1}]`, `filter expression: column 9: rootcause.json: unknown field "Foo" in [0]; expected Services, ClientImpacting`)
	f(`json = #[{"Services": [{"Name": 5}]}]`, `filter expression: column 9: rootcause.json: [0].Services[0].Name must be a string, found a number`)
	f(`json = #[{"Services": {}}]`, `filter expression: column 9: rootcause.json: [0].Services must be an array, found an object`)
	f(`json = #[{"Services": [{"EntityPath": [{"Coverage": "x"}]}]}]`, `filter expression: column 9: rootcause.json: [0].Services[0].EntityPath[0].Coverage must be a number, found a string`)
	f(`json = #[{"Services": [{"EntityPath": [{"Coverage": 1e999}]}]}]`, `filter expression: column 9: rootcause.json: [0].Services[0].EntityPath[0].Coverage: number 1e999 is out of range`)
	f(`json = #[{"ClientImpacting": 1}]`, `filter expression: column 9: rootcause.json: [0].ClientImpacting must be true or false, found a number`)
	f(`json = #[{"Services": [{"Names": [1]}]}]`, `filter expression: column 9: rootcause.json: [0].Services[0].Names[0] must be a string, found a number`)
	f(`json = #[1]`, `filter expression: column 9: rootcause.json: [0] must be an object, found a number`)
	f(`json = #[{"Services": [{"EntityPath": [{"Exceptions": [{"Type": "x"}]}]}]}]`, `filter expression: column 9: rootcause.json: unknown field "Type" in [0].Services[0].EntityPath[0].Exceptions[0]; expected Name, Message`)

	// Groups.
	f(`group.name = "nope"`, `filter expression: column 1: unknown group "nope"`)
	f(`ok AND group.arn = "Default"`, `filter expression: column 8: unknown group "Default"`)
	f(`group.name = ""`, `filter expression: column 1: a group name must not be empty`)
	f(`group.name > "x"`, `filter expression: column 12: expected = or != after "group.name", found ">"`)
	f(`group.name = "self"`, `filter expression: column 1: group "self" has an invalid filter expression: column 1: group "self" refers to itself (self -> self)`)
	f(`group.name = "loop1"`, `filter expression: column 1: group "loop1" has an invalid filter expression: column 1: group "loop2" has an invalid filter expression: column 10: group "loop1" refers to itself (loop1 -> loop2 -> loop1)`)
	f(`group.name = "broken"`, `filter expression: column 1: group "broken" has an invalid filter expression: column 15: expected a number after "responsetime >", found end of expression`)
	many := strings.Repeat(`group.name = "slow" AND `, maxGroupExpansions) + `group.name = "slow"`
	f(many, `filter expression: column 2401: too many group references (more than 100, counting those inside groups)`)
}

func TestErrorsWithoutGroupHook(t *testing.T) {
	if _, err := Parse(`group.name = "Default"`, Options{}); err != nil {
		t.Errorf("Default without a hook: %v", err)
	}
	_, err := Parse(`group.name = "slow"`, Options{})
	if err == nil || err.Error() != `filter expression: column 1: unknown group "slow"` {
		t.Errorf("unknown group without a hook: %v", err)
	}
}
