package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// ProfileExamplesPath lists example traces from one part of a profile's
// distribution (docs/profile.md).
const ProfileExamplesPath = ProfilePath + "/examples"

// The bounds of one examples scan (variables so a test can make them
// small): traces whose documents are read, and the time spent.
var (
	profileExamplesMaxTraces = 20000
	profileExamplesMaxTime   = 10 * time.Second
	// profileExamplesPage is how many trace IDs are read per batch of
	// documents: the scan stops soon after the limit is reached.
	profileExamplesPage = 200
)

const (
	profileExamplesLimit    = 20
	profileExamplesMaxLimit = 100
)

// ProfileExamples is the answer of ProfileExamplesPath.
type ProfileExamples struct {
	Service string   `json:"service"`
	Part    []string `json:"part"`
	Class   string   `json:"class,omitempty"`
	// Time is "total" (the part's inclusive time) or "self".
	Time string `json:"time"`
	// Percentile is set when the band was chosen by percentile (100: the
	// slowest bucket); BandCount is then how many invocations the
	// counters hold in it.
	Percentile float64 `json:"percentile,omitempty"`
	BandCount  int64   `json:"band_count,omitempty"`
	// Min and Max bound the part's time (seconds, both included, in whole
	// microseconds as the counters keep it).
	Min   float64   `json:"min_s"`
	Max   float64   `json:"max_s"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Traces are the matching invocations, newest first.
	Traces []ProfileExample `json:"traces"`
	// Scanned is how many traces of the service were read; Complete is
	// false when the limit or the scan's budget stopped the scan, and
	// Note then says which.
	Scanned  int    `json:"scanned"`
	Complete bool   `json:"complete"`
	Note     string `json:"note,omitempty"`
}

// ProfileExample is one invocation in the band.
type ProfileExample struct {
	TraceID string `json:"trace_id"`
	// Seconds is the part's time in this invocation; InvocationEnd when
	// the invocation ended, Invocation its time.
	Seconds       float64 `json:"seconds"`
	Invocation    float64 `json:"invocation_s"`
	InvocationEnd float64 `json:"invocation_end"`
	Class         string  `json:"class,omitempty"`
}

// ServeProfileExamples answers GET ProfileExamplesPath?service=&part=…
// &start=&end=[&class=cold|warm][&time=total|self][&limit=20] with either
// percentile=50|90|99|100 (the histogram bucket holding that percentile
// of the part's time, 100 the slowest) or min=&max= (seconds): the traces
// whose invocation of service spent that long in the part. part is the
// part's path, one parameter per label (the service's own name first may
// be left out).
func (a *API) ServeProfileExamples(w http.ResponseWriter, r *http.Request) {
	out, err := a.profileExamples(r.Context(), r.URL.Query())
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			a.log.Error("profile examples failed", "err", err)
			apiErr = failure(err)
		}
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) profileExamples(ctx context.Context, q url.Values) (*ProfileExamples, error) {
	service := strings.TrimSpace(q.Get("service"))
	if service == "" {
		return nil, invalid("service is required")
	}
	path := q["part"]
	if len(path) == 0 {
		return nil, invalid("part is required: the part's path, one part= parameter per label")
	}
	if path[0] != service {
		path = append([]string{service}, path...)
	}
	start, end, err := profileWindow(q.Get("start"), q.Get("end"), "")
	if err != nil {
		return nil, err
	}
	out := &ProfileExamples{Service: service, Part: path, Time: "total", Start: start, End: end, Traces: []ProfileExample{}}
	class := profile.ClassNone
	switch c := q.Get("class"); c {
	case "":
	case "cold":
		class = profile.ClassCold
	case "warm":
		class = profile.ClassWarm
	default:
		return nil, invalid("class %q: want cold or warm", c)
	}
	out.Class = class.String()
	switch t := q.Get("time"); t {
	case "", "total":
	case "self":
		out.Time = "self"
	default:
		return nil, invalid("time %q: want total or self", t)
	}
	self := out.Time == "self"
	limit := profileExamplesLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > profileExamplesMaxLimit {
			return nil, invalid("limit %q: want 1 to %d", s, profileExamplesMaxLimit)
		}
	}
	var lo, hi int64
	ps, minS, maxS := q.Get("percentile"), q.Get("min"), q.Get("max")
	switch {
	case ps != "" && (minS != "" || maxS != ""):
		return nil, invalid("give percentile or min and max, not both")
	case ps != "":
		pct, err := strconv.ParseFloat(ps, 64)
		if err != nil || !(pct > 0 && pct <= 100) {
			return nil, invalid("percentile %q: want a number in (0, 100]", ps)
		}
		if a.graph == nil {
			return nil, fmt.Errorf("profile examples: this store keeps no counters")
		}
		p, err := profile.Read(ctx, a.graph, service, start, end)
		if err != nil {
			return nil, err
		}
		band, ok := p.Band(class, path, pct/100, self)
		if !ok {
			return nil, invalid("%s has no part %q with a %s time in this window", service, strings.Join(path, " > "), out.Time)
		}
		lo, hi, out.Percentile, out.BandCount = band.Lo, band.Hi, pct, band.Count
	case minS != "" || maxS != "":
		minF, err1 := strconv.ParseFloat(minS, 64)
		maxF := math.Inf(1)
		var err2 error
		if maxS != "" {
			maxF, err2 = strconv.ParseFloat(maxS, 64)
		}
		if minS == "" {
			minF, err1 = 0, nil
		}
		if err1 != nil || err2 != nil || math.IsNaN(minF) || math.IsNaN(maxF) || minF < 0 || maxF < minF {
			return nil, invalid("min %q and max %q: want seconds, 0 ≤ min ≤ max", minS, maxS)
		}
		lo, hi = int64(math.Ceil(minF*1e6-1e-6)), math.MaxInt64
		if !math.IsInf(maxF, 1) && maxF < 9e12 {
			hi = int64(math.Floor(maxF*1e6 + 1e-6))
		}
	default:
		return nil, invalid("give percentile (50, 90, 99, 100) or min and max (seconds)")
	}
	out.Min = float64(lo) / 1e6
	if hi == math.MaxInt64 {
		out.Max = math.Inf(1)
	} else {
		out.Max = float64(hi) / 1e6
	}
	if math.IsInf(out.Max, 1) {
		out.Max = 9e6 // the longest time the counters keep (micros caps it)
	}
	err = a.scanExamples(ctx, out, class, profile.PathKey(path), self, lo, hi, limit)
	return out, err
}

// scanExamples reads the window's traces of the service, newest first,
// and keeps the invocations whose part's time is in [lo, hi] µs and that
// the counters of the window hold (their end minute is in it).
func (a *API) scanExamples(ctx context.Context, out *ProfileExamples, class profile.Class, key string, self bool, lo, hi int64, limit int) error {
	expr := `service("` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(out.Service) + `")`
	f, err := filter.Parse(expr, filter.Options{})
	if err != nil {
		return fmt.Errorf("profile examples of %q: %w", out.Service, err)
	}
	fromMin, toMin := profile.Minutes(out.Start, out.End)
	from, to := time.Unix(fromMin*60, 0), time.Unix(toMin*60, 0)
	opts := a.opts.Query
	opts.PageSize = profileExamplesPage
	eng := query.New(a.summaries, opts)
	began := time.Now()
	out.Complete = true
	// check reads the documents of one page of trace IDs; it reports
	// whether the scan goes on.
	check := func(ids []xrayid.TraceID) (bool, error) {
		found := map[xrayid.TraceID][]ProfileExample{}
		err := a.traceInvocations(ctx, ids, func(id xrayid.TraceID, invs []profile.Invocation) bool {
			out.Scanned++
			for _, inv := range invs {
				if inv.Service != out.Service || (class != profile.ClassNone && inv.Class != class) {
					continue
				}
				if m, ok := inv.Minute(); !ok || m < fromMin || m >= toMin {
					continue
				}
				sec, ok := inv.Time(key, self)
				if us := profile.Micros(sec); !ok || us < lo || us > hi {
					continue
				}
				found[id] = append(found[id], ProfileExample{TraceID: id.String(), Seconds: float64(profile.Micros(sec)) / 1e6,
					Invocation: inv.Parts[0].Total, InvocationEnd: inv.End, Class: inv.Class.String()})
			}
			return true
		})
		if err != nil {
			return false, fmt.Errorf("profile examples of %q: %w", out.Service, err)
		}
		// Keep the engine's order (newest first).
		for _, id := range ids {
			for _, ex := range found[id] {
				if len(out.Traces) == limit {
					out.Complete = false
					out.Note = fmt.Sprintf("the first %d examples (the limit)", limit)
					return false, nil
				}
				out.Traces = append(out.Traces, ex)
			}
		}
		return true, nil
	}
	day := 24 * time.Hour
	for hiT := to; hiT.After(from); hiT = hiT.Add(-day) {
		loT := hiT.Add(-day)
		if loT.Before(from) {
			loT = from
		}
		// Event: traces by their last activity, which is at or after the
		// end of every invocation in them.
		q := query.Query{Start: loT, End: hiT, TimeRange: query.Event, Filter: f}
		for {
			page, err := eng.Run(ctx, q)
			if err != nil {
				return fmt.Errorf("profile examples of %q: %w", out.Service, err)
			}
			ids := make([]xrayid.TraceID, 0, len(page.Results))
			for _, r := range page.Results {
				ids = append(ids, r.Summary.TraceID)
			}
			if len(ids) > 0 {
				if more, err := check(ids); err != nil || !more {
					return err
				}
			}
			if page.NextToken == "" {
				break
			}
			if out.Scanned >= profileExamplesMaxTraces || time.Since(began) >= profileExamplesMaxTime {
				out.Complete = false
				out.Note = fmt.Sprintf("the scan's budget ran out after %d traces of %s (up to %s): older traces were not read",
					out.Scanned, out.Service, fmtRFC3339(page.ApproximateTime))
				return nil
			}
			q.Cursor = page.NextToken
		}
	}
	return nil
}
