package segment

import (
	"fmt"
	"strconv"
	"time"
)

// MaxFuture is how far ahead of the server's clock a segment's times may be:
// generous for clock skew, far short of the year-292277026596 timestamps a
// float allows. See docs/security.md.
const MaxFuture = 24 * time.Hour

// MinTime is the earliest start_time or end_time accepted: no X-Ray SDK
// (X-Ray launched in 2016) wrote a time before it, while a 0, a 1 or a
// count of days since something would land in 1970.
var MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// TraceIDPlacementWindow is how far back a trace ID's embedded epoch may be
// and still decide where the store files the trace (pebblestore's default
// EpochPast; older epochs are filed at arrival): such a trace whose epoch is
// before the retention cutoff is deleted by the next retention pass.
const TraceIDPlacementWindow = 30 * 24 * time.Hour

// Window is the span of plausible segment times: a decoded segment outside
// it is rejected rather than stored with an absurd date, or acknowledged
// and then deleted by retention.
type Window struct {
	// Retention is how long the store keeps traces; 0 skips the check.
	Retention time.Duration
	// Future bounds times after now; 0 means MaxFuture.
	Future time.Duration
}

// Check rejects seg when a start_time or end_time of any of its entities is
// outside [MinTime, now + Future] (CodeFutureTime past the end, CodeExpired
// before the start), or when its trace ID's epoch files it before the
// retention cutoff (CodeExpired).
func (w Window) Check(seg *Segment, now time.Time) *Error {
	future := w.Future
	if future <= 0 {
		future = MaxFuture
	}
	nowSec := float64(now.UnixNano()) / 1e9
	latest, earliest := nowSec+future.Seconds(), float64(MinTime.Unix())
	for i := range seg.Entities {
		e := &seg.Entities[i]
		for _, f := range []struct {
			name string
			t    float64
		}{{"start_time", e.Start}, {"end_time", e.End}} {
			switch {
			case f.t > latest:
				return &Error{Code: CodeFutureTime, ID: seg.ID().String(), Message: fmt.Sprintf("%s %s of %s is %s ahead of the server's clock; the limit is %s",
					f.name, windowSeconds(f.t), entityName(seg, i), aheadBy(f.t-nowSec), future)}
			case f.t != 0 && f.t < earliest:
				return &Error{Code: CodeExpired, ID: seg.ID().String(), Message: fmt.Sprintf("%s %s of %s is before %s, the earliest accepted time",
					f.name, windowSeconds(f.t), entityName(seg, i), MinTime.Format(time.RFC3339))}
			}
		}
	}
	if w.Retention > 0 && w.Retention < TraceIDPlacementWindow {
		epoch := float64(seg.TraceID.Epoch())
		cutoff := nowSec - w.Retention.Seconds()
		if epoch >= nowSec-TraceIDPlacementWindow.Seconds() && epoch < cutoff {
			return &Error{Code: CodeExpired, ID: seg.ID().String(), Message: fmt.Sprintf("trace_id %s was issued at %s, before the retention cutoff %s (retention %s): it would be deleted",
				seg.TraceID, time.Unix(int64(epoch), 0).UTC().Format(time.RFC3339), time.Unix(int64(cutoff), 0).UTC().Format(time.RFC3339), w.Retention)}
		}
	}
	return nil
}

func entityName(seg *Segment, i int) string {
	if i == 0 {
		return "the document"
	}
	return "subsegment " + seg.Entities[i].ID.String()
}

// windowSeconds prints a time as sent, in exponent form when it is absurd.
func windowSeconds(f float64) string {
	if f >= 1e11 {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return formatSeconds(f)
}

func aheadBy(sec float64) string {
	if sec > 100*365*24*3600 {
		return "more than a century"
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}
