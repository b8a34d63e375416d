package render

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/counterspy/counterspy/internal/profile"
)

// profileBar is the width of the share bars.
const profileBar = 20

// Profile prints a service's breakdown (docs/profile.md): one line per
// part, ranked by self time, with its share of the invocation time as a
// bar, its mean self time per invocation and the percentiles of its self
// time; then, with a comparison, the parts that changed, ranked by their
// contribution to the change. class is "", "cold" or "warm".
func Profile(w io.Writer, r *profile.Result, class string, o Options) error {
	p := r.Profile
	b := pick(p, class)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s  %s – %s", o.paint(bold, clean(p.Service)),
		p.Start.In(o.location()).Format("2006-01-02 15:04:05"), p.End.In(o.location()).Format("15:04:05"))
	if class != "" {
		fmt.Fprintf(&sb, "  (%s invocations)", class)
	}
	sb.WriteString("\n")
	if sm := p.Sample; sm != nil {
		fmt.Fprintf(&sb, "traces matching %s: %d read", clean(sm.Filter), sm.Traces)
		if !sm.Complete {
			sb.WriteString(" — " + clean(sm.Note))
		}
		sb.WriteString("\n")
	}
	if b == nil || b.Invocations == 0 {
		sb.WriteString("no invocations in the window\n")
		_, err := io.WriteString(w, sb.String())
		return err
	}
	fmt.Fprintf(&sb, "%d invocations, mean %s, p50 %s, p90 %s, p99 %s", b.Invocations,
		compactDuration(b.Mean), compactDuration(b.P50), compactDuration(b.P90), compactDuration(b.P99))
	if class == "" && p.Cold != nil && p.Warm != nil {
		fmt.Fprintf(&sb, "\ncold %d (mean %s), warm %d (mean %s)", p.Cold.Invocations, compactDuration(p.Cold.Mean),
			p.Warm.Invocations, compactDuration(p.Warm.Mean))
	}
	sb.WriteString("\n\n")
	cols := []*column{
		{header: "PART", min: 12, shrinkFirst: true},
		{header: "SHARE"},
		{header: "", min: 0},
		{header: "SELF", right: true},
		{header: "P50", right: true},
		{header: "P90", right: true},
		{header: "P99", right: true},
		{header: "IN", right: true},
	}
	for _, part := range b.Parts {
		if part.SelfMean <= 0 && len(part.Path) > 1 {
			continue // a pure container (all its time is its children's)
		}
		n := int(math.Round(part.Share * profileBar))
		bar := strings.Repeat("█", min(max(n, 0), profileBar)) + strings.Repeat("·", profileBar-min(max(n, 0), profileBar))
		in := fmt.Sprintf("%.0f%%", 100*float64(part.Count)/float64(b.Invocations))
		vals := []string{partName(part.Path), fmt.Sprintf("%5.1f%%", 100*part.Share), bar,
			compactDuration(part.SelfMean), compactDuration(part.SelfP50), compactDuration(part.SelfP90), compactDuration(part.SelfP99), in}
		for i, v := range vals {
			cols[i].cells = append(cols[i].cells, v)
		}
	}
	writeColumns(&sb, cols, o, nil)
	sb.WriteString("\nSELF is the mean self time per invocation; P50–P99 of the self time where the part occurs; IN the share of invocations it occurs in.\n")

	if r.Compare != nil {
		c := pickComparison(r.Compare, class)
		base := pick(r.Compare.Base, class)
		sb.WriteString("\n")
		if c == nil || base == nil || base.Invocations == 0 {
			sb.WriteString("nothing to compare with: no invocations in the base window\n")
		} else {
			fmt.Fprintf(&sb, "compared with %s – %s: %d invocations, mean %s → %s (%s)\n\n",
				r.Compare.Base.Start.In(o.location()).Format("2006-01-02 15:04:05"), r.Compare.Base.End.In(o.location()).Format("15:04:05"),
				c.BaseInvocations, compactDuration(c.BaseMean), compactDuration(c.Mean), signed(c.Delta))
			cc := []*column{
				{header: "PART", min: 12, shrinkFirst: true},
				{header: "BEFORE", right: true},
				{header: "NOW", right: true},
				{header: "CHANGE", right: true},
				{header: "OF TOTAL", right: true},
				{header: "P", right: true},
				{header: ""},
			}
			var styles []style
			for i, ch := range c.Changes {
				if i >= 15 || ch.Delta == 0 {
					break
				}
				verdict, st := "", plain
				switch {
				case !ch.Significant:
					verdict, st = "not significant", dim
				case ch.Delta > 0:
					verdict, st = "slower", red
				default:
					verdict, st = "faster", plain
				}
				vals := []string{partName(ch.Path), compactDuration(ch.BaseMean), compactDuration(ch.Mean), signed(ch.Delta),
					fmt.Sprintf("%.0f%%", 100*ch.Contribution), pValue(ch.P), verdict}
				for k, v := range vals {
					cc[k].cells = append(cc[k].cells, v)
				}
				styles = append(styles, st)
			}
			writeColumns(&sb, cc, o, styles)
			fmt.Fprintf(&sb, "\nP is Welch's t-test on the per-invocation self time; not significant: p ≥ %g or fewer than %d invocations on a side.\n",
				profile.Alpha, profile.MinInvocations)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func pick(p *profile.Profile, class string) *profile.Breakdown {
	if p == nil {
		return nil
	}
	switch class {
	case "cold":
		return p.Cold
	case "warm":
		return p.Warm
	}
	return p.All
}

func pickComparison(c *profile.Comparisons, class string) *profile.Comparison {
	switch class {
	case "cold":
		return c.Cold
	case "warm":
		return c.Warm
	}
	return c.All
}

// partName is a part's path without the service, "›"-separated, or
// "(self)" for the service's own time.
func partName(path []string) string {
	if len(path) <= 1 {
		return "(self)"
	}
	parts := make([]string, len(path)-1)
	for i, p := range path[1:] {
		parts[i] = clean(p)
	}
	return strings.Join(parts, " › ")
}

func signed(sec float64) string {
	if sec < 0 {
		return "-" + compactDuration(-sec)
	}
	return "+" + compactDuration(sec)
}

func pValue(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

// writeColumns fits and prints a table; styles (optional) colour rows.
// The first column (a part's path) is shortened on the left: the end of a
// path names the part.
func writeColumns(sb *strings.Builder, cols []*column, o Options, styles []style) {
	fit(cols, o.width())
	if c := cols[0]; c.width > 1 {
		for i, s := range c.cells {
			if r := []rune(s); len(r) > c.width {
				c.cells[i] = "…" + string(r[len(r)-c.width+1:])
			}
		}
	}
	for i, c := range cols {
		if i > 0 {
			sb.WriteString("  ")
		}
		sb.WriteString(o.paint(dim, c.cell(c.header, i == len(cols)-1)))
	}
	sb.WriteString("\n")
	for r := range cols[0].cells {
		var line strings.Builder
		for i, c := range cols {
			if i > 0 {
				line.WriteString("  ")
			}
			line.WriteString(c.cell(c.cells[r], i == len(cols)-1))
		}
		st := plain
		if r < len(styles) {
			st = styles[r]
		}
		sb.WriteString(o.paint(st, strings.TrimRight(line.String(), " ")))
		sb.WriteString("\n")
	}
}
