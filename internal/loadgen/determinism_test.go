package loadgen

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestNewRejectsUnknownScenario(t *testing.T) {
	if _, err := New("huge", 1); err == nil {
		t.Fatal("New accepted an unknown scenario")
	}
	if got := Names(); !slices.Equal(got, []string{"large", "seed"}) {
		t.Fatalf("Names() = %v", got)
	}
}

// Trace must be a pure function of (seed, i, start): the same inputs give
// the same bytes whatever else was generated before or concurrently.
func TestTraceIsDeterministic(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			a, _ := New(name, 42)
			b, _ := New(name, 42)
			other, _ := New(name, 43)
			const n = 200
			want := make([]Trace, n)
			for i := range n {
				want[i] = a.Trace(i, start)
			}
			// Regenerate from another instance, backwards and concurrently.
			got := make([]Trace, n)
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := n - 1 - w; i >= 0; i -= 4 {
						got[i] = b.Trace(i, start)
					}
				})
			}
			wg.Wait()
			for i := range n {
				if !sameTrace(want[i], got[i]) {
					t.Fatalf("trace %d differs between two generations with the same seed", i)
				}
				if i > 0 && want[i].ID == want[i-1].ID {
					t.Fatalf("traces %d and %d share an ID", i-1, i)
				}
				if sameTrace(want[i], other.Trace(i, start)) {
					t.Fatalf("trace %d is the same with seeds 42 and 43", i)
				}
			}
			later := a.Trace(5, start.Add(time.Hour))
			if later.ID.Epoch() != uint32(start.Add(time.Hour).Unix()) && later.ID.Epoch() != uint32(start.Add(time.Hour).Unix()+1) {
				t.Fatalf("trace ID epoch %d does not follow the start time", later.ID.Epoch())
			}
			if later.ID.String()[11:] == want[5].ID.String()[11:] {
				t.Fatal("the same index at another start reuses the trace ID's random part")
			}
		})
	}
}

func sameTrace(a, b Trace) bool {
	if a.ID != b.ID || len(a.Docs) != len(b.Docs) {
		return false
	}
	for k := range a.Docs {
		if !a.Docs[k].At.Equal(b.Docs[k].At) || !bytes.Equal(a.Docs[k].JSON, b.Docs[k].JSON) {
			return false
		}
	}
	return true
}
