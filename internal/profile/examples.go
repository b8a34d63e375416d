package profile

import (
	"math"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/graph"
)

// PathKey is the key of a part's path within a class (Key without the
// class byte), as Part.Key holds it.
func PathKey(path []string) string { return strings.Join(path, sep) }

// Micros is a time as the counters keep it: whole microseconds (negative
// and non-numbers count 0).
func Micros(sec float64) int64 { return micros(sec) }

// Time is what inv spent in the part of path key: its inclusive time, or
// its self time; ok is false when the invocation has no such part. These
// are the numbers its counters were incremented with.
func (inv *Invocation) Time(key string, self bool) (sec float64, ok bool) {
	for _, p := range inv.Parts {
		if p.Key == key {
			if self {
				return p.Self, true
			}
			return p.Total, true
		}
	}
	return 0, false
}

// Band is the range of a part's time, in whole microseconds [Lo, Hi], that
// holds its q-quantile: the histogram bucket the quantile falls in (±2 %),
// so that every invocation counted in that bucket has Lo ≤ Micros(time) ≤
// Hi. q ≥ 1 is the slowest bucket. Count is how many invocations the
// counters hold in it.
type Band struct {
	Lo, Hi int64
	Count  int64
}

// Band finds the band of the q-quantile of the part at path among the
// invocations of class (ClassNone: all of them), of its inclusive or self
// time; ok is false when the profile has no such part.
func (p *Profile) Band(class Class, path []string, q float64, self bool) (Band, bool) {
	b := p.All
	switch class {
	case ClassCold:
		b = p.Cold
	case ClassWarm:
		b = p.Warm
	}
	if b == nil {
		return Band{}, false
	}
	for i := range b.Parts {
		ps := &b.Parts[i]
		if ps.acc == nil || !slices.Equal(ps.Path, path) {
			continue
		}
		h := ps.acc.hist
		if self {
			h = ps.acc.selfHist
		}
		k := quantileBucket(h, q)
		if k < 0 {
			return Band{}, false
		}
		lo, hi := graph.BucketBounds(uint32(k))
		if hi != math.MaxInt64 {
			hi-- // [lo, hi) in whole microseconds
		}
		return Band{Lo: lo, Hi: hi, Count: int64(math.Round(h[k]))}, true
	}
	return Band{}, false
}

// quantileBucket is the bucket of a histogram holding its q-quantile
// (the last non-empty one for q ≥ 1), or -1 when it is empty.
func quantileBucket(h []float64, q float64) int {
	total, last := 0.0, -1
	for k, v := range h {
		if v > 0 {
			total += v
			last = k
		}
	}
	if total <= 0 {
		return -1
	}
	if q >= 1 {
		return last
	}
	rank := q * total
	seen := 0.0
	for k, v := range h {
		if v <= 0 {
			continue
		}
		seen += v
		if seen >= rank {
			return k
		}
	}
	return last
}

// Minute is the minute (since the epoch) whose counters hold inv; ok is
// false for an invocation the counters do not hold (no end time).
func (inv *Invocation) Minute() (int64, bool) { return minuteOf(inv.End) }
