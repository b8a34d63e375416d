package graph_test

import (
	"testing"

	"github.com/counterspy/counterspy/internal/graph"
)

// FuzzParseKey: any bytes decode or fail without panicking, and what
// decodes encodes back to the same key.
func FuzzParseKey(f *testing.F) {
	f.Add(graph.NodeKey(graph.NodeID{Name: "items", Type: "AWS::DynamoDB::Table"}))
	f.Add(graph.EdgeKey(graph.NodeID{Name: "a", Type: "client"}, graph.NodeID{Name: "a", Type: "AWS::Lambda"}, false, nil))
	f.Add(graph.EdgeKey(graph.NodeID{Name: "a"}, graph.NodeID{Name: "b"}, true, []string{"x", "y"}))
	f.Add("e\x01a\x00\x00\x01b\x00\x00\xff\xff\xff\xff\x0f")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := graph.ParseKey(s)
		if err != nil {
			return
		}
		var again string
		if k.Edge {
			again = graph.EdgeKey(k.From, k.To, k.Link, k.Aliases)
		} else {
			again = graph.NodeKey(k.Node)
		}
		if again != s {
			// Only alias lists that are not sorted and unique re-encode
			// differently; the decoded key must then be a fixed point.
			k2, err := graph.ParseKey(again)
			if err != nil || graph.EdgeKey(k2.From, k2.To, k2.Link, k2.Aliases) != again {
				t.Fatalf("%q decodes to %+v, which encodes to %q", s, k, again)
			}
		}
	})
}
