package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/summary"
)

// TraceStatsPath is Counterspy's own aggregate over the trace summaries a
// filter matches (not an X-Ray operation): the console's time series,
// response-time histogram and fault/error/throttle counts describe the
// whole window with it, not the traces it happened to load.
const TraceStatsPath = "/counterspy/v1/trace-stats"

// Limits of one trace-stats request. A window longer than the query
// engine's (X-Ray's 24 hours) is scanned a day at a time; the budget keeps a
// request on a huge store bounded, and an answer that hit it says so
// (complete=false) and how far back it got.
const (
	traceStatsMaxWindow = 31 * 24 * time.Hour
	traceStatsMaxPoints = 1500
	traceStatsPageSize  = 1000
)

// The scan budget of one request (variables so a test can make it small).
var (
	traceStatsMaxExamined int64 = 2_000_000
	traceStatsMaxTime           = 10 * time.Second
)

type traceStatsOutput struct {
	Start    float64 `json:"start"`
	End      float64 `json:"end"`
	Period   int64   `json:"period"`
	Filter   string  `json:"filter"`
	Traces   int64   `json:"traces"`
	Fault    int64   `json:"fault"`
	Error    int64   `json:"error"`
	Throttle int64   `json:"throttle"`
	OK       int64   `json:"ok"`
	// Percentiles of the response time, in seconds, to two significant
	// digits (the histogram's resolution); absent with no traces.
	P50 *float64 `json:"p50,omitempty"`
	P90 *float64 `json:"p90,omitempty"`
	P99 *float64 `json:"p99,omitempty"`
	// Histogram is the response-time distribution, values rounded to two
	// significant digits, as X-Ray's HistogramEntry.
	Histogram []statsHistogramEntry `json:"histogram"`
	Series    []traceStatsPoint     `json:"series"`
	// Examined counts the summaries read (matching or not).
	Examined int64 `json:"examined"`
	// Complete is false when the scan budget ran out: the figures then
	// cover [ScannedFrom, End) only and are an estimate of the window.
	Complete    bool    `json:"complete"`
	ScannedFrom float64 `json:"scannedFrom"`
	Note        string  `json:"note,omitempty"`
}

type statsHistogramEntry struct {
	Value float64 `json:"Value"`
	Count int64   `json:"Count"`
}

type traceStatsPoint struct {
	Time     float64  `json:"time"`
	Traces   int64    `json:"traces"`
	Fault    int64    `json:"fault"`
	Error    int64    `json:"error"`
	Throttle int64    `json:"throttle"`
	P50      *float64 `json:"p50,omitempty"`
	P90      *float64 `json:"p90,omitempty"`
	P99      *float64 `json:"p99,omitempty"`
}

// ServeTraceStats answers GET TraceStatsPath?filter=&start=&end=&period=:
// start and end are epoch seconds or RFC 3339, period a multiple of 60
// seconds (default 60; raised when the window would hold more than
// traceStatsMaxPoints points).
func (a *API) ServeTraceStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out, err := a.traceStats(r.Context(), q.Get("filter"), q.Get("start"), q.Get("end"), q.Get("period"))
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			a.log.Error("trace stats failed", "err", err)
			apiErr = failure(err)
		}
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func parseStatsTime(name, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, invalid("%s is required (epoch seconds or RFC 3339)", name)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return microsTime(f), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalid("%s %q: want epoch seconds or RFC 3339", name, s)
	}
	return t, nil
}

// statsAcc accumulates counts and a response-time histogram.
type statsAcc struct {
	traces, fault, error, throttle int64
	hist                           map[float64]int64
}

func (s *statsAcc) add(sum *summary.Summary) {
	s.traces++
	// A trace's worst outcome, at its entry point or below it (a root
	// cause), as the console's status column shows it.
	switch {
	case sum.HasFault || len(sum.FaultRootCauses) > 0:
		s.fault++
	case sum.HasError || len(sum.ErrorRootCauses) > 0:
		s.error++
	case sum.HasThrottle:
		s.throttle++
	}
	if s.hist == nil {
		s.hist = make(map[float64]int64)
	}
	s.hist[twoDigits(sum.ResponseTime)]++
}

// twoDigits rounds a response time to two significant digits: a histogram
// of a few hundred values per decade, and percentiles within 5 %.
func twoDigits(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 0
	}
	scale := math.Pow(10, math.Floor(math.Log10(v))-1)
	r := math.Round(v/scale) * scale
	// Drop the float noise of the multiplication (0.12000000000000001).
	out, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'g', 2, 64), 64)
	return out
}

// histogram returns the entries in value order.
func (s *statsAcc) histogram() []statsHistogramEntry {
	out := make([]statsHistogramEntry, 0, len(s.hist))
	for v, c := range s.hist {
		out = append(out, statsHistogramEntry{Value: v, Count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// percentiles returns the 50th, 90th and 99th percentiles (nearest rank).
func percentiles(h []statsHistogramEntry, total int64) (p50, p90, p99 *float64) {
	if total == 0 {
		return nil, nil, nil
	}
	ps := []float64{0.5, 0.9, 0.99}
	vals := make([]*float64, len(ps))
	var cum int64
	k := 0
	for _, e := range h {
		cum += e.Count
		for k < len(ps) && float64(cum) >= math.Ceil(ps[k]*float64(total)) {
			v := e.Value
			vals[k] = &v
			k++
		}
	}
	return vals[0], vals[1], vals[2]
}

func (a *API) traceStats(ctx context.Context, expr, startS, endS, periodS string) (*traceStatsOutput, error) {
	start, err := parseStatsTime("start", startS)
	if err != nil {
		return nil, err
	}
	end, err := parseStatsTime("end", endS)
	if err != nil {
		return nil, err
	}
	if !end.After(start) {
		return nil, invalid("end (%s) must be after start (%s)", fmtRFC3339(end), fmtRFC3339(start))
	}
	if end.Sub(start) > traceStatsMaxWindow {
		return nil, invalid("the window from %s to %s is longer than %s", fmtRFC3339(start), fmtRFC3339(end), traceStatsMaxWindow)
	}
	period := int64(60)
	if periodS != "" {
		p, err := strconv.ParseInt(periodS, 10, 64)
		if err != nil || p <= 0 || p%60 != 0 {
			return nil, invalid("period %q: want a positive multiple of 60 seconds", periodS)
		}
		period = p
	}
	span := int64(math.Ceil(end.Sub(start).Seconds()))
	for span/period > traceStatsMaxPoints {
		period += 60
	}
	expr = strings.TrimSpace(expr)
	var f *filter.Expr
	ids, isIDs := traceIDList(expr)
	if expr != "" && !isIDs {
		if f, err = filter.Parse(expr, filter.Options{Group: a.opts.Groups}); err != nil {
			return nil, invalid("%v", err)
		}
	}

	first := start.Unix() / period * period
	npoints := (end.Unix()-1-first)/period + 1
	points := make([]statsAcc, npoints)
	var total statsAcc
	out := &traceStatsOutput{Start: unixSeconds(start), End: unixSeconds(end), Period: period, Filter: expr, Complete: true,
		ScannedFrom: unixSeconds(start)}

	began := time.Now()
	q := query.Query{TimeRange: query.TraceID, Filter: f, TraceIDs: ids}
	err = a.scanDays(ctx, q, start, end, traceStatsPageSize, func(page *query.Page) bool {
		out.Examined += page.Examined
		for i := range page.Results {
			s := page.Results[i].Summary
			total.add(s)
			k := (int64(math.Floor(s.Start)) - first) / period
			if k >= 0 && k < npoints {
				points[k].add(s)
			}
		}
		if page.NextToken != "" && (out.Examined >= traceStatsMaxExamined || time.Since(began) >= traceStatsMaxTime) {
			out.Complete = false
			out.ScannedFrom = unixSeconds(page.ApproximateTime)
			out.Note = fmt.Sprintf("scan budget reached after %d summaries: figures cover %s to %s only", out.Examined,
				fmtRFC3339(page.ApproximateTime), fmtRFC3339(end))
			return false
		}
		return true
	})
	if err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return nil, err
		}
		return nil, fmt.Errorf("trace stats from %s to %s: %w", fmtRFC3339(start), fmtRFC3339(end), err)
	}

	out.Traces, out.Fault, out.Error, out.Throttle = total.traces, total.fault, total.error, total.throttle
	out.OK = total.traces - total.fault - total.error - total.throttle
	out.Histogram = total.histogram()
	out.P50, out.P90, out.P99 = percentiles(out.Histogram, total.traces)
	out.Series = make([]traceStatsPoint, npoints)
	for i := range points {
		p := &points[i]
		pt := traceStatsPoint{Time: float64(first + int64(i)*period), Traces: p.traces, Fault: p.fault, Error: p.error, Throttle: p.throttle}
		pt.P50, pt.P90, pt.P99 = percentiles(p.histogram(), p.traces)
		out.Series[i] = pt
	}
	return out, nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

func fmtRFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
