package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/profile"
)

type exampleFlags struct {
	part       string
	class      string
	percentile float64
	self       bool
	limit      int
	json       bool
}

// profileExamples prints the IDs of traces from one band of a part's
// distribution: it finds the part in the window's profile, then asks the
// examples endpoint.
func profileExamples(ctx context.Context, stdout io.Writer, base string, q url.Values, f exampleFlags) error {
	if !(f.percentile > 0 && f.percentile <= 100) {
		return usageError{fmt.Errorf("--percentile %v: want a number in (0, 100]", f.percentile)}
	}
	if f.limit < 1 || f.limit > 100 {
		return usageError{fmt.Errorf("--limit %d: want 1 to 100", f.limit)}
	}
	body, err := getProfile(ctx, base+api.ProfilePath+"?"+q.Encode())
	if err != nil {
		return err
	}
	var r profile.Result
	if err := json.Unmarshal(body, &r); err != nil || r.Profile == nil || r.All == nil {
		return fmt.Errorf("profile: decoding the answer: %v", err)
	}
	path, err := findPart(r.All.Parts, f.part)
	if err != nil {
		return err
	}
	q.Del("part")
	for _, l := range path {
		q.Add("part", l)
	}
	q.Set("percentile", strconv.FormatFloat(f.percentile, 'f', -1, 64))
	q.Set("limit", strconv.Itoa(f.limit))
	if f.class != "" {
		q.Set("class", f.class)
	}
	if f.self {
		q.Set("time", "self")
	}
	body, err = getProfile(ctx, base+api.ProfileExamplesPath+"?"+q.Encode())
	if err != nil {
		return err
	}
	if f.json {
		_, err := stdout.Write(body)
		return err
	}
	var ex api.ProfileExamples
	if err := json.Unmarshal(body, &ex); err != nil {
		return fmt.Errorf("profile: decoding the examples: %w", err)
	}
	what := "p" + strconv.FormatFloat(ex.Percentile, 'f', -1, 64)
	if ex.Percentile == 100 {
		what = "the slowest"
	}
	fmt.Fprintf(stdout, "# %s of %s time in %s: %s to %s (%d invocations in the band); %d traces read\n",
		what, ex.Time, strings.Join(ex.Part, " › "), fmtSeconds(ex.Min), fmtSeconds(ex.Max), ex.BandCount, ex.Scanned)
	for _, e := range ex.Traces {
		fmt.Fprintf(stdout, "%s\t%s\n", e.TraceID, fmtSeconds(e.Seconds))
	}
	if ex.Note != "" {
		fmt.Fprintf(stdout, "# %s\n", ex.Note)
	}
	return nil
}

func fmtSeconds(s float64) string {
	if s < 1 {
		return strconv.FormatFloat(s*1000, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + " s"
}

// findPart picks the part the user named: the parts whose path ends with
// the given labels (separated by › or >), else those whose last label
// contains the text (case-insensitively). More than one is an error
// listing them.
func findPart(parts []profile.PartStats, name string) ([]string, error) {
	var labels []string
	for _, l := range strings.FieldsFunc(name, func(r rune) bool { return r == '›' || r == '>' }) {
		labels = append(labels, strings.TrimSpace(l))
	}
	var found [][]string
	for _, p := range parts {
		if len(p.Path) >= len(labels) && slices.Equal(p.Path[len(p.Path)-len(labels):], labels) {
			found = append(found, p.Path)
		}
	}
	if len(found) == 0 {
		needle := strings.ToLower(strings.TrimSpace(name))
		for _, p := range parts {
			if strings.Contains(strings.ToLower(p.Path[len(p.Path)-1]), needle) {
				found = append(found, p.Path)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, usageError{fmt.Errorf("--examples %q: no such part in this window's profile", name)}
	}
	var names []string
	for _, p := range found {
		names = append(names, strings.Join(p, " › "))
	}
	return nil, usageError{fmt.Errorf("--examples %q names %d parts; give more of the path:\n  %s", name, len(found), strings.Join(names, "\n  "))}
}
