package graph

import (
	"math"
	"math/bits"

	"github.com/counterspy/counterspy/internal/summary"
)

// Counter indexes (persisted: never renumber; see the package comment).
const (
	IdxOK             uint32 = 0
	IdxErrorOther     uint32 = 1
	IdxThrottle       uint32 = 2
	IdxFault          uint32 = 3
	IdxResponseTimeUs uint32 = 4
	IdxSent           uint32 = 5
	IdxInProgress     uint32 = 6
	// numBase is the number of scalar counters.
	numBase = 7

	// IdxResponseTimeHist + b counts response times in bucket b.
	IdxResponseTimeHist uint32 = 1 << 16
	// IdxDurationHist + b counts the node requests whose duration is in
	// bucket b but whose response time is in another bucket, and
	// IdxDurationMovedFrom + b those requests by their response-time
	// bucket b: the duration histogram is the response-time histogram with
	// those requests moved. Most requests end their work when they answer,
	// so this stores nothing for them.
	IdxDurationHist      uint32 = 2 << 16
	IdxDurationMovedFrom uint32 = 3 << 16
	// IdxEventAgeHist + b counts, on link edges, the events received in
	// age bucket b: from the producer's call ending to the consumer's
	// request starting (X-Ray's ReceivedEventAgeHistogram). Placed after
	// IdxDurationMovedFrom's buckets, below 3<<16 + 4096.
	IdxEventAgeHist uint32 = IdxDurationMovedFrom + 2048
)

// Histogram buckets are log-linear over whole microseconds: exact below
// 32 µs, then 32 buckets per power of two, so a bucket is at most 1/32 of
// its lower bound wide. The value reported for a bucket lies in its middle
// quarter, so it is within 5/256 (1.95 %) of every value in the bucket.
const (
	subBits    = 5
	subBuckets = 1 << subBits // 32
	// NumBuckets bounds the bucket numbers Bucket returns.
	NumBuckets = subBuckets + (63-subBits)*subBuckets
)

// Bucket returns the histogram bucket of a duration in microseconds
// (negative counts as 0).
func Bucket(us int64) uint32 {
	if us < subBuckets {
		return uint32(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - subBits - 1 // us>>e is in [32, 64)
	return uint32(subBuckets + e*subBuckets + int(uint64(us)>>e) - subBuckets)
}

// BucketBounds returns bucket b's range [lo, hi) in microseconds.
func BucketBounds(b uint32) (lo, hi int64) {
	if b < subBuckets {
		return int64(b), int64(b) + 1
	}
	e := (b - subBuckets) / subBuckets
	m := int64(b%subBuckets) + subBuckets
	lo = m << e
	hi = (m + 1) << e
	if hi < lo { // the last bucket
		hi = math.MaxInt64
	}
	return lo, hi
}

// BucketValue is the value (seconds) reported for bucket b: the roundest
// number of microseconds in the middle quarter of the bucket (a whole
// second if there is one, else 100 ms, … down to 1 µs), so that values
// read like what was measured (0.5, not 0.500123) and stay within 1.95 %.
func BucketValue(b uint32) float64 {
	lo, hi := BucketBounds(b)
	if hi-lo <= 1 || hi == math.MaxInt64 {
		return float64(lo) / 1e6
	}
	w := hi - lo
	mid := lo + w/2
	a, z := mid-w/8, mid+w/8
	for step := int64(1_000_000); step >= 1; step /= 10 {
		c := (a + step - 1) / step * step
		if c >= a && c <= z {
			return float64(c) / 1e6
		}
	}
	return float64(mid) / 1e6
}

// micros converts seconds to whole microseconds (0 for negative or NaN).
func micros(sec float64) int64 {
	if !(sec > 0) {
		return 0
	}
	if sec > 9e12 {
		return math.MaxInt64 / 2
	}
	return int64(math.Round(sec * 1e6))
}

// classIndex is the status counter of a completed request or call (X-Ray's
// ServiceStatistics: https://docs.aws.amazon.com/xray/latest/api/API_ServiceStatistics.html):
// fault beats error, a throttle is an error; without flags, the HTTP
// status decides (5xx fault, 429 throttle, 4xx error).
func classIndex(c *summary.Call) uint32 {
	fault, isErr, throttle := c.Fault, c.Error, c.Throttle
	if !fault && !isErr && !throttle {
		switch {
		case c.Status >= 500 && c.Status < 600:
			fault = true
		case c.Status == 429:
			throttle = true
		case c.Status >= 400 && c.Status < 500:
			isErr = true
		}
	}
	switch {
	case fault:
		return IdxFault
	case throttle:
		return IdxThrottle
	case isErr:
		return IdxErrorOther
	}
	return IdxOK
}

// minuteOf is the minute (Unix seconds / 60) of an epoch-seconds time, false
// for times no request can have.
func minuteOf(sec float64) (int64, bool) {
	if !(sec > 0) || sec > 1e12 {
		return 0, false
	}
	return int64(math.Floor(sec / 60)), true
}
