package api

import (
	"strings"
	"testing"
)

// FuzzTraceIDList: a list read back is exactly the IDs written, and
// anything else is left to the filter parser.
func FuzzTraceIDList(f *testing.F) {
	f.Add("1-5759e988-bd862e3fe1be46a994272793")
	f.Add("1-5759e988-bd862e3fe1be46a994272793, 1-5759e988-bd862e3fe1be46a994272794")
	f.Add(`service("a") 1-5759e988-bd862e3fe1be46a994272793`)
	f.Add(" , ")
	f.Fuzz(func(t *testing.T, expr string) {
		ids, ok := traceIDList(expr)
		if !ok {
			if ids != nil {
				t.Fatalf("%q: not a list but %d IDs", expr, len(ids))
			}
			return
		}
		if len(ids) == 0 || len(ids) > maxIDList {
			t.Fatalf("%q: %d IDs", expr, len(ids))
		}
		var s []string
		for _, id := range ids {
			s = append(s, id.String())
		}
		again, ok := traceIDList(strings.Join(s, " "))
		if !ok || len(again) != len(ids) {
			t.Fatalf("%q: written back as %q, read %d IDs (ok %v)", expr, strings.Join(s, " "), len(again), ok)
		}
		for i := range ids {
			if again[i] != ids[i] {
				t.Fatalf("%q: ID %d changed from %s to %s", expr, i, ids[i], again[i])
			}
		}
	})
}
