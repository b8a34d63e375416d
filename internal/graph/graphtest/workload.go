package graphtest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// Workload is the service-graph counters of many traces of the loadgen
// "large" scenario (a ~30-service shop) over one hour, for benchmarks.
type Workload struct {
	// Rows are the summed counters per (minute, key) of the Default group,
	// ordered by minute then key, as store.GraphReader yields them.
	Rows []store.GraphRow
	// FromMinute and ToMinute bound the hour.
	FromMinute, ToMinute int64
	// Counters is the number of counters in Rows.
	Counters int
}

// LargeHour returns the counters that traces traces, spread evenly over one
// hour, add. distinct traces are generated and summarized for real; the
// others repeat them, each shifted to its own minute (a minute of traffic
// draws a different run of samples), which keeps the number of keys and
// histogram buckets per minute realistic without building a million
// summaries.
func LargeHour(traces, distinct int) (*Workload, error) {
	sc, err := loadgen.New("large", 1)
	if err != nil {
		return nil, err
	}
	base := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	baseMinute := base.Unix() / 60
	dec := segment.NewDecoder(0)
	type sample struct {
		contribs []graph.Contribution
		minute   int64 // the trace's own start minute
	}
	samples := make([]sample, 0, distinct)
	for i := range distinct {
		tr := sc.Trace(i, base)
		var docs []summary.Doc
		for k, d := range tr.Docs {
			segs, err := dec.Decode(nil, d.JSON)
			if err != nil {
				return nil, fmt.Errorf("trace %d document %d: %w", i, k, err)
			}
			for j := range segs {
				s := segs[j]
				docs = append(docs, summary.Doc{Seg: &s, Received: d.At.UnixNano()})
			}
		}
		s := summary.Build(tr.ID, docs, 0)
		samples = append(samples, sample{graph.Contributions(s, nil), baseMinute})
	}
	type rowKey struct {
		minute int64
		key    string
	}
	sums := map[rowKey]map[uint32]float64{}
	perMinute := max(traces/60, 1)
	for t := range traces {
		m := min(int64(t/perMinute), 59)
		smp := &samples[t%len(samples)]
		for _, c := range smp.contribs {
			k := rowKey{c.Minute - smp.minute + baseMinute + m, c.Key}
			vs := sums[k]
			if vs == nil {
				vs = map[uint32]float64{}
				sums[k] = vs
			}
			for _, v := range c.Values {
				vs[v.Index] += v.Value
			}
		}
	}
	w := &Workload{FromMinute: baseMinute, ToMinute: baseMinute + 60}
	for k, vs := range sums {
		if k.minute < w.FromMinute || k.minute >= w.ToMinute {
			continue // calls that ended after the hour
		}
		r := store.GraphRow{Minute: k.minute, Key: k.key}
		for _, i := range slices.Sorted(maps.Keys(vs)) {
			r.Values = append(r.Values, store.Counter{Index: i, Value: vs[i]})
		}
		w.Counters += len(r.Values)
		w.Rows = append(w.Rows, r)
	}
	slices.SortFunc(w.Rows, func(a, b store.GraphRow) int {
		return cmp.Or(cmp.Compare(a.Minute, b.Minute), cmp.Compare(a.Key, b.Key))
	})
	return w, nil
}
