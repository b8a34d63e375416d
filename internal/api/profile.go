package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/profile"
)

// ProfilePath is Counterspy's own profile of a service (not an X-Ray
// operation): where its invocations' time goes, from the counters kept at
// ingest (docs/profile.md).
const ProfilePath = "/counterspy/v1/profile"

// profileMaxWindow bounds one window: 31 days is 44,640 minutes of
// counters per part.
const profileMaxWindow = 31 * 24 * time.Hour

// ServeProfile answers GET ProfilePath?service=&start=&end=[&filter=]
// [&compare_start=&compare_end=][&compare_filter=]: times are epoch
// seconds or RFC 3339. Without filter the profile comes from the counters
// kept at ingest; with one, from the matching traces (a bounded sample).
// The base of a comparison is the compare window (with the same filter,
// or compare_filter when given), or compare_filter over the same window.
func (a *API) ServeProfile(w http.ResponseWriter, r *http.Request) {
	out, err := a.profile(r)
	if err != nil {
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			a.log.Error("profile failed", "err", err)
			apiErr = failure(err)
		}
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) profile(r *http.Request) (*profile.Result, error) {
	q := r.URL.Query()
	service := strings.TrimSpace(q.Get("service"))
	if service == "" {
		return nil, invalid("service is required")
	}
	start, end, err := profileWindow(q.Get("start"), q.Get("end"), "")
	if err != nil {
		return nil, err
	}
	if a.graph == nil {
		return nil, fmt.Errorf("profile: this store keeps no counters")
	}
	expr := strings.TrimSpace(q.Get("filter"))
	read := func(expr string, start, end time.Time) (*profile.Profile, error) {
		if expr == "" {
			return profile.Read(r.Context(), a.graph, service, start, end)
		}
		return a.profileOfFilter(r.Context(), service, expr, start, end)
	}
	p, err := read(expr, start, end)
	if err != nil {
		return nil, err
	}
	out := &profile.Result{Profile: p}
	cs, ce := q.Get("compare_start"), q.Get("compare_end")
	if cs == "" && ce == "" && !q.Has("compare_filter") {
		return out, nil
	}
	bs, be, baseExpr := start, end, expr
	if q.Has("compare_filter") {
		baseExpr = strings.TrimSpace(q.Get("compare_filter"))
	}
	if cs != "" || ce != "" {
		if bs, be, err = profileWindow(cs, ce, "compare_"); err != nil {
			return nil, err
		}
	}
	base, err := read(baseExpr, bs, be)
	if err != nil {
		return nil, err
	}
	c := &profile.Comparisons{Base: base, All: profile.Compare(base.All, p.All)}
	if base.Cold != nil && p.Cold != nil {
		c.Cold = profile.Compare(base.Cold, p.Cold)
	}
	if base.Warm != nil && p.Warm != nil {
		c.Warm = profile.Compare(base.Warm, p.Warm)
	}
	out.Compare = c
	return out, nil
}

func profileWindow(startS, endS, prefix string) (start, end time.Time, err error) {
	if start, err = parseStatsTime(prefix+"start", startS); err != nil {
		return
	}
	if end, err = parseStatsTime(prefix+"end", endS); err != nil {
		return
	}
	if !end.After(start) {
		return start, end, invalid("%send (%s) must be after %sstart (%s)", prefix, fmtRFC3339(end), prefix, fmtRFC3339(start))
	}
	if end.Sub(start) > profileMaxWindow {
		return start, end, invalid("the window from %s to %s is longer than %s", fmtRFC3339(start), fmtRFC3339(end), profileMaxWindow)
	}
	return start, end, nil
}
