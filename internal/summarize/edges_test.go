package summarize_test

import (
	"slices"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/summarize"
)

// TestEdgesWhenPushedDown: the summarizer builds SummaryFields.Edges and
// every service name for a store that pushes edge and service conditions
// down (the memory backend) and not for one that does not (Pebble), and
// the edges it builds are Fields'.
func TestEdgesWhenPushedDown(t *testing.T) {
	peb := openPebble(t)
	mem := memstore.New()
	defer mem.Close()
	sc, err := loadgen.New("large", 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		st    summarize.Reader
		edges bool
	}{{"memory", mem, true}, {"pebble", peb, false}} {
		sum := summarize.New(c.st, summarize.Options{}, metrics.NewSet(), quiet)
		tr := sc.Trace(0, time.Now())
		dec := segment.NewDecoder(0)
		b := &store.Batch{}
		var segs []segment.Segment
		for _, d := range tr.Docs {
			ss, err := dec.Decode(nil, d.JSON)
			if err != nil {
				t.Fatal(err)
			}
			for k := range ss {
				segs = append(segs, ss[k])
				b.Records = append(b.Records, store.Record{TraceID: ss[k].TraceID, ID: ss[k].ID(), Received: d.At.UnixNano(), Doc: d.JSON})
			}
		}
		if err := sum.Observe(segs, b); err != nil {
			t.Fatal(err)
		}
		if len(b.Summaries) != 1 {
			t.Fatalf("%s: %d summaries", c.name, len(b.Summaries))
		}
		f := b.Summaries[0].Fields
		if f.HasEdges != c.edges || (len(f.Edges) > 0) != c.edges {
			t.Errorf("%s: HasEdges %v with %d edges, want edges %v", c.name, f.HasEdges, len(f.Edges), c.edges)
		}
		// Every name of every node likewise (store.FieldService), sorted.
		if f.ServiceNames != c.edges || c.edges && !slices.IsSorted(f.Services) || len(f.Services) == 0 {
			t.Errorf("%s: ServiceNames %v, services %q", c.name, f.ServiceNames, f.Services)
		}
	}
}
