package render

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Timeline writes t as the X-Ray console's segments timeline: one row per
// segment and subsegment, segments in start order with their subsegments
// indented below them, then the name, origin (segments) or namespace
// (subsegments), the OpenTelemetry span kind (when some entity was made
// from a span), duration, HTTP status and fault/error/throttle markers,
// and a bar on a time axis common to the whole trace. Below the rows come
// the exceptions of faulted and errored entities and a one-line summary.
func Timeline(w io.Writer, t *Trace, o Options) error {
	var b strings.Builder
	tl := newTimeline(t)
	tl.rows(&b, o)
	tl.exceptions(&b, o)
	tl.summary(&b, o)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write timeline: %w", err)
	}
	return nil
}

type timeline struct {
	t      *Trace
	lines  []line
	t0, t1 float64 // the time axis: earliest start, latest end (or start)
	// for the summary line
	segments, inferred int
	inProgress         bool
}

// line is one row: an entity at its depth, with the names of its
// ancestors (the segment first).
type line struct {
	e     *Entity
	depth int
	path  []string
}

func newTimeline(t *Trace) *timeline {
	tl := &timeline{t: t, t0: math.Inf(1), t1: math.Inf(-1)}
	var add func(e *Entity, depth int, path []string)
	add = func(e *Entity, depth int, path []string) {
		path = append(path[:len(path):len(path)], displayName(e))
		tl.lines = append(tl.lines, line{e: e, depth: depth, path: path})
		if e.Start > 0 {
			tl.t0 = min(tl.t0, e.Start)
			tl.t1 = max(tl.t1, e.Start)
		}
		if e.End > 0 {
			tl.t1 = max(tl.t1, e.End)
		}
		tl.inProgress = tl.inProgress || e.InProgress
		for _, s := range e.Subsegments {
			add(s, depth+1, path)
		}
	}
	for _, s := range t.Segments {
		tl.segments++
		if s.Inferred {
			tl.inferred++
		}
		add(s, 0, nil)
	}
	if tl.t0 > tl.t1 { // no times at all
		tl.t0, tl.t1 = 0, 0
	}
	return tl
}

func displayName(e *Entity) string {
	if e.Name == "" {
		return "(unnamed)"
	}
	return clean(e.Name)
}

// partial blocks: a bar's last cell, in eighths.
var partial = [8]string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}

func (tl *timeline) rows(b *strings.Builder, o Options) {
	name := &column{header: "NAME", min: 12}
	origin := &column{header: "ORIGIN", min: 8}
	kind := &column{header: "KIND", min: 4}
	hasKind := false
	dur := &column{header: "DURATION", right: true}
	status := &column{header: "STATUS", min: len("in progress")}
	for _, l := range tl.lines {
		n := strings.Repeat("  ", l.depth) + displayName(l.e)
		if l.e.Inferred {
			n += " (inferred)"
		}
		name.cells = append(name.cells, n)
		origin.cells = append(origin.cells, clean(originOf(l.e)))
		kind.cells = append(kind.cells, l.e.Kind)
		hasKind = hasKind || l.e.Kind != ""
		switch {
		case l.e.Start <= 0: // no start_time: nothing to measure
			dur.cells = append(dur.cells, "?")
		case l.e.InProgress:
			dur.cells = append(dur.cells, "…")
		default:
			dur.cells = append(dur.cells, millis(l.e.End-l.e.Start))
		}
		status.cells = append(status.cells, entityStatus(l.e))
	}
	cols := []*column{name, origin, dur, status}
	if hasKind {
		cols = []*column{name, origin, kind, dur, status}
	}
	total := o.width()
	minBar := max(10, total/4)
	fit(cols, total-2-minBar)
	if origin.width < natural(origin) {
		// Short of room: AWS::Lambda::Function reads as Lambda::Function
		// before anything is cut.
		for i, c := range origin.cells {
			origin.cells[i] = strings.TrimPrefix(c, "AWS::")
		}
		fit(cols, total-2-minBar)
	}
	barW := total - 2*len(cols)
	for _, c := range cols {
		barW -= c.width
	}
	barW = max(barW, 10)

	// Header, with the axis labels over the bars.
	for _, c := range cols {
		b.WriteString(o.paint(bold, c.cell(c.header, false)))
		b.WriteString("  ")
	}
	b.WriteString(o.paint(bold, tl.axis(barW)))
	b.WriteByte('\n')

	for i, l := range tl.lines {
		st := flagStyle(l.e.Fault, l.e.Throttle, l.e.Error)
		nameStyle := plain
		switch {
		case l.e.Inferred:
			nameStyle = dim
		case l.depth == 0:
			nameStyle = bold
		}
		lead, drawn := tl.bar(l.e, barW)
		cells := []string{
			o.paint(nameStyle, name.cell(nameCell(l, name.width), false)),
			origin.cell(origin.cells[i], false),
		}
		if hasKind {
			k := kind.cell(kind.cells[i], false)
			if kind.cells[i] != "" {
				k = o.paint(dim, k)
			}
			cells = append(cells, k)
		}
		cells = append(cells,
			dur.cell(dur.cells[i], false),
			o.paint(st, status.cell(status.cells[i], false)),
			lead+o.paint(st, drawn),
		)
		row := strings.Join(cells, "  ")
		b.WriteString(strings.TrimRight(row, " "))
		b.WriteByte('\n')
	}
}

// nameCell is a row's name, indented by depth and cut to w columns; the
// "(inferred)" mark survives the cut, and deep rows keep a few letters of
// their name even when the indentation alone would fill the column.
func nameCell(l line, w int) string {
	suffix := ""
	if l.e.Inferred {
		suffix = " (inferred)"
	}
	n := displayName(l.e)
	indent := min(2*l.depth, max(w-4, 0))
	avail := w - indent - width(suffix)
	if avail < 4 {
		return truncate(strings.Repeat(" ", indent)+n+suffix, w)
	}
	return strings.Repeat(" ", indent) + truncate(n, avail) + suffix
}

// originOf is what the origin column shows: a segment's origin, a
// subsegment's namespace.
func originOf(e *Entity) string {
	if e.Origin != "" {
		return e.Origin
	}
	return e.Namespace
}

// entityStatus is the status cell: the HTTP status, then fault, throttle or
// error (throttle implies error, so error is not repeated), or "in progress".
func entityStatus(e *Entity) string {
	var parts []string
	if e.HTTP.Status > 0 {
		parts = append(parts, strconv.Itoa(e.HTTP.Status))
	}
	if e.Fault {
		parts = append(parts, "fault")
	}
	if e.Throttle {
		parts = append(parts, "throttle")
	} else if e.Error {
		parts = append(parts, "error")
	}
	if e.InProgress {
		parts = append(parts, "in progress")
	}
	return strings.Join(parts, " ")
}

// axis labels the time axis: 0 on the left, the span on the right, the
// middle when there is room.
func (tl *timeline) axis(w int) string {
	span := tl.t1 - tl.t0
	cells := []rune(strings.Repeat(" ", w))
	put := func(at int, s string) {
		r := []rune(s)
		at = min(max(at, 0), w-len(r))
		if at < 0 {
			return
		}
		copy(cells[at:], r)
	}
	right := millis(span)
	put(0, "0ms")
	if w >= 3*len(right)+6 {
		mid := millis(span / 2)
		put(w/2-len(mid)/2, mid)
	}
	put(w-len(right), right)
	return strings.TrimRight(string(cells), " ")
}

// bar returns the blank lead and the drawn part of e's bar on a w-cell
// axis. The start is rounded down to a cell, the end drawn to the eighth of
// a cell; every entity gets at least a sliver. An in-progress entity runs
// to the end of the axis and ends in "…": its end is not known.
func (tl *timeline) bar(e *Entity, w int) (lead, drawn string) {
	if e.Start <= 0 {
		return "", ""
	}
	span := tl.t1 - tl.t0
	pos := func(t float64) float64 {
		if span <= 0 {
			return 0
		}
		return (t - tl.t0) / span * float64(w)
	}
	start := min(max(int(math.Floor(pos(e.Start))), 0), w-1)
	lead = strings.Repeat(" ", start)
	if e.InProgress {
		return lead, strings.Repeat("█", w-start-1) + "…"
	}
	eighths := max(int(math.Round((pos(e.End)-float64(start))*8)), 1)
	eighths = min(eighths, (w-start)*8)
	return lead, strings.Repeat("█", eighths/8) + partial[eighths%8]
}

// exceptions lists the exceptions recorded on faulted, errored or
// throttled entities, each with its first stack frame.
func (tl *timeline) exceptions(b *strings.Builder, o Options) {
	owner := map[string]string{} // exception ID -> entity path
	for _, l := range tl.lines {
		for _, x := range l.e.Cause.Exceptions {
			if x.ID != "" {
				if _, ok := owner[x.ID]; !ok {
					owner[x.ID] = strings.Join(l.path, " › ")
				}
			}
		}
	}
	header := false
	for _, l := range tl.lines {
		e := l.e
		c := e.Cause
		if !(e.Fault || e.Error || e.Throttle) || (len(c.Exceptions) == 0 && c.ExceptionID == "") {
			continue
		}
		if !header {
			b.WriteString("\n" + o.paint(bold, "Exceptions") + "\n")
			header = true
		}
		st := flagStyle(e.Fault, e.Throttle, e.Error)
		fmt.Fprintf(b, "  %s  %s\n", strings.Join(l.path, " › "), o.paint(st, entityStatus(e)))
		if len(c.Exceptions) == 0 {
			ref := "exception"
			if id := strings.TrimSpace(clean(c.ExceptionID)); id != "" {
				ref += " " + id
			}
			if where, ok := owner[c.ExceptionID]; ok {
				ref += " (recorded on " + where + ")"
			}
			fmt.Fprintf(b, "    %s\n", ref)
			continue
		}
		for _, x := range c.Exceptions {
			fmt.Fprintf(b, "    %s\n", o.paint(st, exceptionText(x)))
			// The innermost frame that says something (SDKs write empty
			// frames for what they could not resolve).
			for _, f := range x.Stack {
				if at := strings.TrimSpace(frameText(f)); at != "" {
					fmt.Fprintf(b, "      at %s\n", at)
					break
				}
			}
		}
	}
}

func exceptionText(x Exception) string {
	// Trimmed after clean: a control character at the end becomes a space.
	typ, msg := strings.TrimSpace(clean(x.Type)), strings.TrimSpace(clean(firstLine(x.Message)))
	var s string
	switch {
	case typ != "" && msg != "":
		s = typ + ": " + msg
	case typ != "":
		s = typ
	case msg != "":
		s = msg
	default:
		s = "(no message)"
	}
	if x.Remote {
		s += " (remote)"
	}
	return s
}

func frameText(f Frame) string {
	where := clean(f.Path)
	if f.Line > 0 {
		where += ":" + strconv.Itoa(f.Line)
	}
	switch {
	case f.Label != "" && where != "":
		return clean(f.Label) + " (" + where + ")"
	case f.Label != "":
		return clean(f.Label)
	}
	return where
}

// summary is the closing line: trace ID, duration, segments, start time.
func (tl *timeline) summary(b *strings.Builder, o Options) {
	t := tl.t
	d := t.Duration
	if d <= 0 {
		d = tl.t1 - tl.t0
	}
	counts := plural(tl.segments, "segment")
	if tl.inferred > 0 {
		counts += fmt.Sprintf(" (%d inferred)", tl.inferred)
	}
	dur := millis(d)
	if tl.inProgress {
		dur += " so far"
	}
	parts := []string{clean(t.ID), dur, counts}
	if tl.t0 > 0 {
		parts = append(parts, epochTime(tl.t0).In(o.location()).Format("2006-01-02 15:04:05Z07:00"))
	}
	if t.LimitExceeded {
		parts = append(parts, o.paint(yellow, "incomplete: the trace exceeded the server's size limit"))
	}
	// One line when it fits, else broken between parts.
	b.WriteByte('\n')
	col := 0
	for i, p := range parts {
		switch {
		case i == 0:
		case col+3+width(stripStyles(p)) > o.width():
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteString(" · ")
			col += 3
		}
		b.WriteString(p)
		col += width(stripStyles(p))
	}
	b.WriteByte('\n')
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
