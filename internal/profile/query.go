package profile

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/store"
)

// Profile is the breakdown of a service's invocations in a window.
type Profile struct {
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// All is every invocation; Cold and Warm split Lambda function
	// invocations (absent when the service has none).
	All  *Breakdown `json:"all"`
	Cold *Breakdown `json:"cold,omitempty"`
	Warm *Breakdown `json:"warm,omitempty"`
	// Sample is set for a profile of a filter expression (read from
	// traces, not from the counters).
	Sample *Sample `json:"sample,omitempty"`
}

// Breakdown is the parts of a set of invocations.
type Breakdown struct {
	// Invocations is how many invocations ended in the window.
	Invocations int64 `json:"invocations"`
	// Mean is the mean invocation time (seconds); P50..P99 its
	// percentiles (within 2 %, from the histogram).
	Mean float64 `json:"mean_s"`
	P50  float64 `json:"p50_s"`
	P90  float64 `json:"p90_s"`
	P99  float64 `json:"p99_s"`
	// Parts are ranked by self time, largest first; the service's own
	// part (its path has one element) is among them.
	Parts []PartStats `json:"parts"`
}

// PartStats is one part's distribution.
type PartStats struct {
	Path []string `json:"path"`
	// Count is the invocations the part occurs in.
	Count int64 `json:"count"`
	// SelfMean is the part's mean self time per invocation of the service
	// (invocations without the part count as 0): these add up to the mean
	// invocation time when no children overlap. Share is SelfMean over
	// the mean invocation time.
	SelfMean float64 `json:"self_mean_s"`
	Share    float64 `json:"share"`
	// Mean is the part's mean inclusive time per invocation of the service.
	Mean float64 `json:"mean_s"`
	// Percentiles of the part's self and inclusive time over the
	// invocations it occurs in.
	SelfP50 float64 `json:"self_p50_s"`
	SelfP90 float64 `json:"self_p90_s"`
	SelfP99 float64 `json:"self_p99_s"`
	P50     float64 `json:"p50_s"`
	P90     float64 `json:"p90_s"`
	P99     float64 `json:"p99_s"`
	// Histogram is the self time's: [value (s), count] pairs.
	Histogram [][2]float64 `json:"self_histogram"`

	acc *acc
}

// acc is the summed counters of one part.
type acc struct {
	count, sum, sumSq, selfSum, selfSumSq float64
	// hist and selfHist are dense, by bucket (nil while empty): a busy
	// part's minutes fill hundreds of buckets each.
	hist, selfHist []float64
}

func addBucket(h *[]float64, b uint32, v float64) {
	if *h == nil {
		*h = make([]float64, graph.NumBuckets)
	}
	(*h)[b] += v
}

func (a *acc) add(v []store.Counter) {
	for _, c := range v {
		switch {
		case c.Index == IdxCount:
			a.count += c.Value
		case c.Index == IdxSum:
			a.sum += c.Value
		case c.Index == IdxSumSq:
			a.sumSq += c.Value
		case c.Index == IdxSelfSum:
			a.selfSum += c.Value
		case c.Index == IdxSelfSumSq:
			a.selfSumSq += c.Value
		case c.Index >= IdxHist && c.Index < IdxHist+graph.NumBuckets:
			addBucket(&a.hist, c.Index-IdxHist, c.Value)
		case c.Index >= IdxSelfHist && c.Index < IdxSelfHist+graph.NumBuckets:
			addBucket(&a.selfHist, c.Index-IdxSelfHist, c.Value)
		}
	}
}

func (a *acc) merge(b *acc) {
	a.count += b.count
	a.sum += b.sum
	a.sumSq += b.sumSq
	a.selfSum += b.selfSum
	a.selfSumSq += b.selfSumSq
	for k, v := range b.hist {
		if v != 0 {
			addBucket(&a.hist, uint32(k), v)
		}
	}
	for k, v := range b.selfHist {
		if v != 0 {
			addBucket(&a.selfHist, uint32(k), v)
		}
	}
}

// Read sums the profile counters of service over [from, to) (whole
// minutes: from rounds down, to up).
func Read(ctx context.Context, r store.GraphReader, service string, from, to time.Time) (*Profile, error) {
	fromMin, toMin := Minutes(from, to)
	classes := map[Class]map[string]*acc{}
	for row, err := range r.GraphCounters(ctx, Group(service), fromMin, toMin) {
		if err != nil {
			return nil, fmt.Errorf("profile of %q: %w", service, err)
		}
		c, _, ok := ParseKey(row.Key)
		if !ok {
			continue
		}
		m := classes[c]
		if m == nil {
			m = map[string]*acc{}
			classes[c] = m
		}
		a := m[row.Key[1:]]
		if a == nil {
			a = &acc{}
			m[row.Key[1:]] = a
		}
		a.add(row.Values)
	}
	p := &Profile{Service: service, Start: from, End: to}
	all := map[string]*acc{}
	for _, m := range classes {
		for k, a := range m {
			if all[k] == nil {
				all[k] = &acc{}
			}
			all[k].merge(a)
		}
	}
	p.All = breakdown(service, all)
	if m := classes[ClassCold]; m != nil {
		p.Cold = breakdown(service, m)
	}
	if m := classes[ClassWarm]; m != nil {
		p.Warm = breakdown(service, m)
	}
	return p, nil
}

// Minutes is the window Read sums for [from, to): whole minutes since
// the epoch, fromMin included and toMin not (start rounds down, end up).
func Minutes(from, to time.Time) (fromMin, toMin int64) {
	fromMin = int64(math.Floor(float64(from.Unix()) / 60))
	toMin = int64(math.Ceil(float64(to.Unix()) / 60))
	if to.Unix()%60 == 0 && to.Nanosecond() > 0 {
		toMin++
	}
	return fromMin, toMin
}

// FromInvocations builds a profile from invocations found by reading
// traces (the fallback for a filter expression the counters cannot
// answer): the same counters, summed in memory.
func FromInvocations(service string, from, to time.Time, invs []Invocation) *Profile {
	classes := map[Class]map[string]*acc{}
	for _, inv := range invs {
		if inv.Service != service {
			continue
		}
		m := classes[inv.Class]
		if m == nil {
			m = map[string]*acc{}
			classes[inv.Class] = m
		}
		for _, part := range inv.Parts {
			k := part.Key
			if m[k] == nil {
				m[k] = &acc{}
			}
			m[k].add(addPart(nil, part))
		}
	}
	p := &Profile{Service: service, Start: from, End: to}
	all := map[string]*acc{}
	for _, m := range classes {
		for k, a := range m {
			if all[k] == nil {
				all[k] = &acc{}
			}
			all[k].merge(a)
		}
	}
	p.All = breakdown(service, all)
	if m := classes[ClassCold]; m != nil {
		p.Cold = breakdown(service, m)
	}
	if m := classes[ClassWarm]; m != nil {
		p.Warm = breakdown(service, m)
	}
	return p
}

func breakdown(service string, m map[string]*acc) *Breakdown {
	b := &Breakdown{Parts: []PartStats{}}
	root := m[service]
	if root == nil || root.count <= 0 {
		return b
	}
	n := root.count
	b.Invocations = int64(math.Round(n))
	b.Mean = root.sum / n / 1e6
	b.P50, b.P90, b.P99 = quantile(root.hist, 0.5), quantile(root.hist, 0.9), quantile(root.hist, 0.99)
	for k, a := range m {
		if a.count <= 0 {
			continue // cancelled out (a revision took it back)
		}
		ps := PartStats{
			Path:     strings.Split(k, sep),
			Count:    int64(math.Round(a.count)),
			SelfMean: a.selfSum / n / 1e6,
			Mean:     a.sum / n / 1e6,
			SelfP50:  quantile(a.selfHist, 0.5), SelfP90: quantile(a.selfHist, 0.9), SelfP99: quantile(a.selfHist, 0.99),
			P50: quantile(a.hist, 0.5), P90: quantile(a.hist, 0.9), P99: quantile(a.hist, 0.99),
			Histogram: histogram(a.selfHist),
			acc:       a,
		}
		if root.sum > 0 {
			ps.Share = a.selfSum / root.sum
		}
		b.Parts = append(b.Parts, ps)
	}
	slices.SortFunc(b.Parts, func(x, y PartStats) int {
		return cmp.Or(cmp.Compare(y.SelfMean, x.SelfMean), slices.Compare(x.Path, y.Path))
	})
	return b
}

// quantile is the q-quantile of a histogram of microsecond buckets, in
// seconds (0 when empty).
func quantile(h []float64, q float64) float64 {
	k := quantileBucket(h, q)
	if k < 0 {
		return 0
	}
	return graph.BucketValue(uint32(k))
}

func histogram(h []float64) [][2]float64 {
	out := [][2]float64{}
	for k, v := range h {
		if v > 0 {
			out = append(out, [2]float64{graph.BucketValue(uint32(k)), v})
		}
	}
	return out
}
