package query

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// window is a query's time range as the scan sees it.
type window struct {
	order store.Order
	// start and end are the window after PartialScan; startF and endF the
	// same in epoch seconds.
	start, end     time.Time
	startF, endF   float64
	startFrac      bool // start is not a whole second
	endFrac        bool // end is not a whole second
	from, to       int64
	fixedRate      bool
	rate           float64
	matchEventTime bool
}

func newWindow(q *Query) window {
	start, end := q.Start, q.End
	if q.Sampling.Strategy == PartialScan {
		span := float64(end.Sub(start)) * q.Sampling.Value
		start = end.Add(-time.Duration(math.Ceil(span)))
	}
	w := window{
		order: q.TimeRange.Order(),
		start: start, end: end,
		startF: epochSeconds(start), endF: epochSeconds(end),
		startFrac: start.Nanosecond() != 0, endFrac: end.Nanosecond() != 0,
		from: start.Unix(), to: end.Unix(),
		fixedRate:      q.Sampling.Strategy == FixedRate,
		rate:           q.Sampling.Value,
		matchEventTime: q.TimeRange != TraceID,
	}
	if w.endFrac {
		w.to++
	}
	return w
}

func epochSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// timeOf converts epoch seconds, rounded to the microsecond (documents
// carry no more, and float64 epoch seconds have float noise below it).
func timeOf(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}

// exact is the time of s in the window's order: its start, or its last
// activity (the latest end, or start while in progress), as the store
// places it.
func (w *window) exact(s *summary.Summary) float64 {
	if w.order == store.ByStart {
		return s.Start
	}
	return max(s.End, s.Start)
}

// boundary reports whether the rows of position second sec may fall
// outside the window: those of its first and last second when the window
// does not start or end on a whole second.
func (w *window) boundary(sec int64) bool {
	return sec == w.from && w.startFrac || sec == w.to-1 && w.endFrac
}

// contains reports whether time t (epoch seconds) is in the window.
func (w *window) contains(t float64) bool { return t >= w.startF && t < w.endF }

// clamp moves t into position second sec, so that the exact time of a row
// never contradicts its position (for a trace placed by arrival, or an
// entity that started before its trace ID's second).
func clamp(t float64, sec int64) float64 {
	lo := float64(sec)
	switch {
	case t >= lo && t < lo+1:
		return t
	case t >= lo+1:
		return math.Nextafter(lo+1, lo)
	}
	return lo // below, or NaN
}

// sampled reports whether FixedRate keeps trace id.
func (w *window) sampled(id xrayid.TraceID) bool {
	return !w.fixedRate || sampleKey(id) < w.rate
}

// sampleKey maps a trace ID to [0, 1), uniformly for random IDs and
// spread even for sequential ones (a splitmix64 finalizer over both
// halves).
func sampleKey(id xrayid.TraceID) float64 {
	h := binary.BigEndian.Uint64(id[:8])*0x9e3779b97f4a7c15 ^ binary.BigEndian.Uint64(id[8:])
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}
