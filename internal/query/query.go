package query

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/index"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TimeRange is X-Ray's TimeRangeType: which time of a trace the window
// selects.
type TimeRange uint8

const (
	// TraceID selects traces by their start (the default).
	TraceID TimeRange = iota
	// Event selects traces by their last activity.
	Event
	// Service selects traces by their last activity too (see the package
	// documentation).
	Service
)

var timeRangeNames = [...]string{TraceID: "TraceId", Event: "Event", Service: "Service"}

// ParseTimeRange reads X-Ray's TimeRangeType; "" is TraceID.
func ParseTimeRange(s string) (TimeRange, error) {
	if s == "" {
		return TraceID, nil
	}
	for r, name := range timeRangeNames {
		if s == name {
			return TimeRange(r), nil
		}
	}
	return 0, invalidf("TimeRangeType %q is not one of TraceId, Event, Service", s)
}

func (r TimeRange) String() string {
	if int(r) < len(timeRangeNames) {
		return timeRangeNames[r]
	}
	return fmt.Sprintf("TimeRange(%d)", r)
}

// Order is the store order the time range scans.
func (r TimeRange) Order() store.Order {
	if r == TraceID {
		return store.ByStart
	}
	return store.ByEnd
}

// Strategy is X-Ray's SamplingStrategy name.
type Strategy uint8

const (
	// NoSampling returns every matching trace.
	NoSampling Strategy = iota
	// PartialScan scans the newest fraction Value of the window.
	PartialScan
	// FixedRate keeps the traces whose ID hash is below Value.
	FixedRate
)

var strategyNames = [...]string{NoSampling: "", PartialScan: "PartialScan", FixedRate: "FixedRate"}

// ParseStrategy reads a SamplingStrategy name.
func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "PartialScan":
		return PartialScan, nil
	case "FixedRate":
		return FixedRate, nil
	}
	return 0, invalidf("SamplingStrategy.Name %q is not one of PartialScan, FixedRate", s)
}

func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", s)
}

// Sampling asks for a subset of the matching traces.
type Sampling struct {
	Strategy Strategy
	// Value is the fraction: of the window (PartialScan, in (0, 1]) or of
	// the traces (FixedRate, in [0, 1]).
	Value float64
}

// Validate checks that Value suits the strategy.
func (s Sampling) Validate() error {
	v := s.Value
	switch s.Strategy {
	case NoSampling:
	case PartialScan:
		if !(v > 0 && v <= 1) {
			return invalidf("SamplingStrategy PartialScan needs a Value in (0, 1], not %v", v)
		}
	case FixedRate:
		if !(v >= 0 && v <= 1) {
			return invalidf("SamplingStrategy FixedRate needs a Value in [0, 1], not %v", v)
		}
	default:
		return invalidf("unknown sampling strategy %d", s.Strategy)
	}
	return nil
}

// Query is one GetTraceSummaries call.
type Query struct {
	// Start and End bound the window [Start, End).
	Start, End time.Time
	TimeRange  TimeRange
	// Filter selects traces; nil selects every trace.
	Filter *filter.Expr
	// TraceIDs, when set, turns the query into a lookup of these traces
	// (still subject to the window, Filter and Sampling): no scan, one
	// page.
	TraceIDs []xrayid.TraceID
	Sampling Sampling
	// Cursor is the NextToken of the previous page; "" for the first.
	Cursor string
}

// Options tune an Engine. Zero values take the defaults.
type Options struct {
	// PageSize is the most summaries a page holds. Default 100 (X-Ray's).
	PageSize int
	// MaxExamined is the most summaries one call reads before it returns
	// what it has with a NextToken. Default 100,000 (a few hundred
	// milliseconds).
	MaxExamined int
	// MaxTime is how long one call may scan before it returns what it has
	// with a NextToken (checked every few rows). Default 500 ms.
	MaxTime time.Duration
	// MaxWindow is the longest window a query may ask for. Default 24 h.
	MaxWindow time.Duration
	// ProbeRows is how many of the newest rows the planner reads (without
	// decoding them) to compare index estimates with. Default 1024.
	ProbeRows int
	// IndexRatio: the planner follows an index when its candidates are at
	// most this fraction of the probed rows. Default 0.1.
	IndexRatio float64
	// Workers is how many goroutines decode and filter summaries once a
	// scan has read SerialRows rows without filling its page. Default
	// GOMAXPROCS; 1 keeps every scan in the caller's goroutine.
	Workers int
	// SerialRows is how many rows a scan reads in the caller's goroutine
	// before it fans out to Workers. Default 512 (a few milliseconds).
	SerialRows int
	// CursorKey keys the NextToken checksum. Default: a fixed key, so tokens
	// survive a restart. A token grants nothing a new query could not ask
	// for; the checksum catches modified and mismatched tokens.
	CursorKey []byte
	// Now is the clock of MaxTime. Default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.MaxExamined <= 0 {
		o.MaxExamined = 100_000
	}
	if o.MaxTime <= 0 {
		o.MaxTime = 500 * time.Millisecond
	}
	if o.MaxWindow <= 0 {
		o.MaxWindow = 24 * time.Hour
	}
	if o.ProbeRows <= 0 {
		o.ProbeRows = 1024
	}
	if o.IndexRatio <= 0 {
		// A term-scan row costs a random summary read (~28 µs uncached)
		// where a sequential scan row costs ~1 µs (2026-11-25, go test
		// -bench BenchmarkFirstPage ./internal/query): an index only pays
		// for rare values.
		o.IndexRatio = 0.1
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.SerialRows <= 0 {
		o.SerialRows = 512
	}
	if len(o.CursorKey) == 0 {
		o.CursorKey = []byte("counterspy query cursor")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Engine runs queries against a store. It is safe for concurrent use.
type Engine struct {
	st   store.SummaryReader
	opts Options
	// The store's optional capabilities (package store), nil without.
	estimator store.TermEstimator
	pushDown  store.PushDown
	// index is which terms the store was given (index.For), as the
	// summarizer writing it asked.
	index index.Policy
}

// New returns an Engine reading st.
func New(st store.SummaryReader, opts Options) *Engine {
	opts.setDefaults()
	e := &Engine{st: st, opts: opts}
	e.estimator, _ = st.(store.TermEstimator)
	e.pushDown, _ = st.(store.PushDown)
	e.index = index.For(st)
	return e
}

// Result is one matching trace.
type Result struct {
	Summary *summary.Summary
	// Pos is the trace's position in the scan order.
	Pos store.Position
	// MatchedEventTime is the trace's last activity, for the Event and
	// Service time ranges; zero for TraceID.
	MatchedEventTime time.Time
}

// Page is the answer to one call.
type Page struct {
	// Results are in scan order: newest first.
	Results []Result
	// Examined counts the summaries read in the window, matching or not
	// (X-Ray's TracesProcessedCount).
	Examined int64
	// Skipped counts summaries that could not be decoded (and were left
	// out).
	Skipped int64
	// ApproximateTime is how far back the scan got: the position second of
	// the last summary read, or the window's start once it is exhausted.
	ApproximateTime time.Time
	// NextToken resumes the scan; "" when the window is exhausted.
	NextToken string
	// Plan is how the page was found.
	Plan Plan
}

// InvalidError is a query the caller got wrong: a bad window, sampling
// value or NextToken. Its message is meant for the user.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalidf(format string, args ...any) *InvalidError {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// validate checks what the caller controls.
func (e *Engine) validate(q *Query) error {
	switch {
	case q.Start.IsZero() || q.End.IsZero():
		return invalidf("StartTime and EndTime are required")
	case !q.End.After(q.Start):
		return invalidf("EndTime (%s) must be after StartTime (%s)", fmtTime(q.End), fmtTime(q.Start))
	case q.End.Sub(q.Start) > e.opts.MaxWindow:
		return invalidf("the time range from %s to %s is %s; the longest allowed is %s",
			fmtTime(q.Start), fmtTime(q.End), q.End.Sub(q.Start), e.opts.MaxWindow)
	case q.Start.Unix() < 0 || q.End.Unix() > math.MaxUint32:
		return invalidf("the time range from %s to %s is outside the years 1970–2106", fmtTime(q.Start), fmtTime(q.End))
	case q.TimeRange > Service:
		return invalidf("unknown time range type %d", q.TimeRange)
	case len(q.TraceIDs) > e.opts.PageSize:
		return invalidf("%d trace IDs to look up; at most %d fit a page", len(q.TraceIDs), e.opts.PageSize)
	}
	return q.Sampling.Validate()
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Run answers one call: a page of q's results.
func (e *Engine) Run(ctx context.Context, q Query) (*Page, error) {
	if err := e.validate(&q); err != nil {
		return nil, err
	}
	w := newWindow(&q)
	var before *store.Position
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, e.opts.CursorKey)
		if err != nil {
			return nil, err
		}
		if err := c.check(&q); err != nil {
			return nil, err
		}
		before = &c.pos
	}
	if len(q.TraceIDs) > 0 {
		return e.lookup(ctx, &q, &w)
	}
	plan, err := e.plan(ctx, &q, &w, before)
	if err != nil {
		return nil, err
	}
	if plan.Empty {
		return &Page{Results: []Result{}, ApproximateTime: w.start, Plan: plan}, nil
	}
	return e.execute(ctx, &q, &w, plan, before)
}
