package filter

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// testGroups are the groups testOptions knows.
var testGroups = map[string]string{
	"slow":                                  "responsetime > 5",
	"arn:aws:xray:us-east-1:1:group/slow/x": "responsetime > 5",
	"high_response_time":                    "responsetime >= 5",
	"errors":                                "error OR fault",
	"nested":                                `group.name = "slow" AND ok`,
	"empty":                                 "",
	"self":                                  `group.name = "self"`,
	"loop1":                                 `group.name = "loop2"`,
	"loop2":                                 `fault OR group.name = "loop1"`,
	"broken":                                "responsetime >",
}

var testOptions = Options{Group: func(name string) (string, bool) {
	expr, ok := testGroups[name]
	return expr, ok
}}

func mustParse(t testing.TB, expr string) *Expr {
	t.Helper()
	e, err := Parse(expr, testOptions)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	return e
}

// sexpr prints the tree with its structure explicit, to test precedence.
func sexpr(n *node) string {
	if n == nil {
		return "true"
	}
	switch n.kind {
	case kAnd, kOr, kNot, kGroup:
		var parts []string
		for _, k := range n.kids {
			parts = append(parts, sexpr(k))
		}
		name := map[kind]string{kAnd: "and", kOr: "or", kNot: "not", kGroup: "group " + n.key}[n.kind]
		return "(" + name + " " + strings.Join(parts, " ") + ")"
	case kService, kEdge, kRootCause:
		var b strings.Builder
		c := *n
		c.kids = nil
		c.print(&b)
		if blk := n.block(); blk != nil {
			return "(" + b.String() + " " + sexpr(blk) + ")"
		}
		return b.String()
	}
	var b strings.Builder
	n.print(&b)
	return b.String()
}

// equalTrees compares syntax trees.
func equalTrees(a, b *Expr) bool { return reflect.DeepEqual(a.root, b.root) }

func describe(e *Expr) string { return fmt.Sprintf("%s = %s", e, sexpr(e.root)) }
