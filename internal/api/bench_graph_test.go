package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/graph/graphtest"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

var (
	hourOnce sync.Once
	hour     *graphtest.Workload
	hourErr  error
)

// BenchmarkGetServiceGraph is GetServiceGraph over one hour holding a
// million traces of the large scenario (their counters written as the
// summarizer would), through the HTTP handler: reading the counters,
// building the graph, encoding JSON. The goal is 50 ms.
//
// store=pebble reads them from Pebble as written (merge operands not yet
// compacted), store=pebble-compacted after a compaction (the state of
// minutes older than a few), store=memory from memory (graphtest): the cost
// of everything but the store.
func BenchmarkGetServiceGraph(b *testing.B) {
	hourOnce.Do(func() { hour, hourErr = graphtest.LargeHour(1_000_000, 20_000) })
	if hourErr != nil {
		b.Fatal(hourErr)
	}
	w := hour
	for _, backend := range []string{"pebble", "pebble-compacted", "memory"} {
		b.Run("store="+backend, func(b *testing.B) {
			pst, err := pebblestore.Open(b.TempDir(), pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer pst.Close()
			var st interface {
				api.Store
				store.Writer
			} = pst
			if backend == "memory" {
				st = graphtest.Wrap(pst)
			}
			ctx := context.Background()
			batch := &store.Batch{}
			for i, r := range w.Rows {
				batch.Graph = append(batch.Graph, store.GraphDelta{Minute: r.Minute, Key: r.Key, Values: r.Values})
				if len(batch.Graph) == 500 || i == len(w.Rows)-1 {
					if err := st.Write(ctx, batch); err != nil {
						b.Fatal(err)
					}
					batch = &store.Batch{}
				}
			}
			if backend == "pebble-compacted" {
				if err := pst.Compact(ctx); err != nil {
					b.Fatal(err)
				}
			}
			h := api.New(nil, st, api.Options{}, metrics.NewSet(), quiet)
			body := fmt.Sprintf(`{"StartTime": %d, "EndTime": %d}`, w.FromMinute*60, w.ToMinute*60)
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ServiceGraph", strings.NewReader(body)))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "response-bytes")
			b.ReportMetric(float64(len(w.Rows)), "rows")
		})
	}
}
