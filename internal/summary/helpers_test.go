package summary

import (
	"fmt"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const testTrace = "1-581cf771-a006649127e371903a2de979"

var testTraceID = xrayid.MustParseTraceID(testTrace)

// decodeDocs decodes JSON documents through the ingest decoder, one arrival
// per document (1 ms apart), "$T" standing for the trace ID.
func decodeDocs(t testing.TB, jsons ...string) []Doc {
	t.Helper()
	dec := segment.NewDecoder(0)
	var out []Doc
	for i, j := range jsons {
		segs, err := dec.Decode(nil, []byte(strings.ReplaceAll(j, "$T", testTrace)))
		if err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, j)
		}
		for k := range segs {
			out = append(out, Doc{Seg: &segs[k], Received: int64(i+1) * 1e6})
		}
	}
	return out
}

func build(t testing.TB, jsons ...string) *Summary {
	t.Helper()
	return Build(testTraceID, decodeDocs(t, jsons...), 0)
}

// graphOf renders a summary's graph: nodes as name/type ("~" inferred, "*"
// root) with their request count, then edges as from->to ("~>" for links,
// "client" for -1) with call count and [aliases].
func graphOf(s *Summary) string {
	var b strings.Builder
	name := func(i int32) string {
		if i < 0 {
			return "client"
		}
		return s.Nodes[i].Name + "/" + s.Nodes[i].Type
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		b.WriteString(name(int32(i)))
		if n.Inferred {
			b.WriteString("~")
		}
		if n.Root {
			b.WriteString("*")
		}
		fmt.Fprintf(&b, "(%d) ", len(n.Requests))
	}
	b.WriteString("|")
	for _, e := range s.Edges {
		arrow := "->"
		if e.Link {
			arrow = "~>"
		}
		fmt.Fprintf(&b, " %s%s%s(%d)", name(e.From), arrow, name(e.To), len(e.Calls))
		if len(e.Aliases) > 0 {
			fmt.Fprintf(&b, "%v", e.Aliases)
		}
	}
	return b.String()
}

// rootCausesOf renders root causes as service>service paths, each service
// name/type{entity,entity(ExceptionName: message)}, "!" when client
// impacting, "^" after a remote entity, @coverage for response time.
func rootCausesOf(rcs []RootCause) string {
	var parts []string
	for _, rc := range rcs {
		var svcs []string
		for _, sv := range rc.Services {
			var ents []string
			for _, e := range sv.EntityPath {
				s := e.Name
				if e.Remote {
					s += "^"
				}
				if e.Coverage != 0 {
					s += fmt.Sprintf("@%.2f", e.Coverage)
				}
				for _, x := range e.Exceptions {
					s += fmt.Sprintf("(%s: %s)", x.Name, x.Message)
				}
				ents = append(ents, s)
			}
			n := sv.Name + "/" + sv.Type
			if sv.Inferred {
				n += "~"
			}
			svcs = append(svcs, n+"{"+strings.Join(ents, ",")+"}")
		}
		p := strings.Join(svcs, ">")
		if rc.ClientImpacting {
			p += "!"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ; ")
}

func nodeIndex(t testing.TB, s *Summary, name, typ string) int32 {
	t.Helper()
	for i := range s.Nodes {
		if s.Nodes[i].Name == name && s.Nodes[i].Type == typ {
			return int32(i)
		}
	}
	t.Fatalf("no node %s/%s in %s", name, typ, graphOf(s))
	return -1
}

// annotationsOf renders annotations as key=value[nodes].
func annotationsOf(s *Summary) string {
	var parts []string
	for _, a := range s.Annotations {
		var v string
		switch a.Value.Type {
		case segment.AnnotationString:
			v = fmt.Sprintf("%q", a.Value.String)
		case segment.AnnotationNumber:
			v = fmt.Sprint(a.Value.Number)
		case segment.AnnotationBool:
			v = fmt.Sprint(a.Value.Bool)
		}
		parts = append(parts, fmt.Sprintf("%s=%s%v", a.Key, v, a.Nodes))
	}
	return strings.Join(parts, " ")
}

// decodeLines decodes one document per line, skipping rejected ones.
func decodeLines(data []byte) []Doc {
	dec := segment.NewDecoder(0)
	var docs []Doc
	for i, line := range strings.Split(string(data), "\n") {
		segs, err := dec.Decode(nil, []byte(line))
		if err != nil {
			continue
		}
		for k := range segs {
			docs = append(docs, Doc{Seg: &segs[k], Received: int64(i)})
		}
	}
	return docs
}

// checkInvariants checks what every summary must satisfy.
func checkInvariants(t testing.TB, s *Summary) {
	t.Helper()
	n := int32(len(s.Nodes))
	if s.Entry < -1 || s.Entry >= n || (s.Entry == -1) != (n == 0) {
		t.Fatalf("Entry %d with %d nodes", s.Entry, n)
	}
	for i, nd := range s.Nodes {
		if len(nd.Requests) == 0 || len(nd.Names) == 0 || nd.Names[0] != nd.Name || nd.Root != (int32(i) == s.Entry) {
			t.Fatalf("node %d: %+v", i, nd)
		}
	}
	for i, e := range s.Edges {
		if e.From < -1 || e.From >= n || e.To < 0 || e.To >= n || len(e.Calls) == 0 {
			t.Fatalf("edge %d: %+v", i, e)
		}
		if i > 0 {
			p := s.Edges[i-1]
			if p.From > e.From || p.From == e.From && p.To > e.To {
				t.Fatalf("edges out of order: %+v before %+v", p, e)
			}
		}
	}
	for _, a := range s.Annotations {
		for _, x := range a.Nodes {
			if x < 0 || x >= n {
				t.Fatalf("annotation %s: node %d", a.Key, x)
			}
		}
	}
	for _, rcs := range [][]RootCause{s.FaultRootCauses, s.ErrorRootCauses, s.ResponseTimeRootCauses} {
		if len(rcs) > MaxRootCauses {
			t.Fatalf("%d root causes", len(rcs))
		}
		for _, rc := range rcs {
			if len(rc.Services) == 0 {
				t.Fatalf("root cause without services")
			}
			for _, sv := range rc.Services {
				if len(sv.EntityPath) == 0 {
					t.Fatalf("service %s without entity path", sv.Name)
				}
			}
		}
	}
	if s.End < s.Start || s.Duration != s.End-s.Start {
		t.Fatalf("Start %v End %v Duration %v", s.Start, s.End, s.Duration)
	}
}
