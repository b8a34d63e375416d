package render

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is one trace of a GetTraceSummaries result, as the table shows it.
type Summary struct {
	ID string
	// Start is when the trace started; zero when unknown.
	Start time.Time
	// ResponseTime and Duration are in seconds; a negative ResponseTime
	// means unknown.
	ResponseTime, Duration                     float64
	HasFault, HasError, HasThrottle, IsPartial bool
	// FaultIn and ErrorIn name the service of a fault (error) root cause
	// when the trace has one below an entry point that is itself fine:
	// X-Ray's trace-level flags are the entry point's.
	FaultIn, ErrorIn string
	// EntryName and EntryType identify the entry-point service
	// (xraystarter-go, AWS::Lambda).
	EntryName, EntryType string
	HTTPMethod, HTTPURL  string
	HTTPStatus           int
	// Annotations are in the order to print them (the commands sort them
	// by key).
	Annotations []Annotation
}

// Annotation is one annotation key with the distinct values it has in the
// trace, already formatted.
type Annotation struct {
	Key    string
	Values []string
}

// Table writes summaries as a table, one trace per row, in the given order
// (GetTraceSummaries returns the most recent first): trace ID, start time,
// response time, duration, status, entry point, HTTP request and
// annotations. The key columns — trace ID, start, status and the entry
// point's name — stay whole as long as anything else can give way: when
// the width is short, the annotations and then the HTTP request shrink
// (cells cut with "…") and are left out, then the entry point's type, the
// duration and the response time; only then is the entry point cut.
func Table(w io.Writer, rows []Summary, o Options) error {
	id := &column{header: "TRACE ID"}
	start := &column{header: "START"}
	resp := &column{header: "RESP", right: true}
	dur := &column{header: "DUR", right: true}
	status := &column{header: "STATUS"}
	entry := &column{header: "ENTRY POINT"}
	httpc := &column{header: "HTTP", min: 12, shrinkFirst: true}
	annots := &column{header: "ANNOTATIONS", min: 11, shrinkFirst: true}
	now := o.now().In(o.location())
	var anyHTTP, anyAnnotations, anyType bool
	var entryNames []string
	for _, s := range rows {
		id.cells = append(id.cells, clean(s.ID))
		start.cells = append(start.cells, startText(s.Start, now, o.location()))
		resp.cells = append(resp.cells, responseText(s))
		dur.cells = append(dur.cells, compactDuration(s.Duration))
		status.cells = append(status.cells, StatusText(s))
		entry.cells = append(entry.cells, entryText(s))
		entryNames = append(entryNames, clean(s.EntryName))
		anyType = anyType || s.EntryType != ""
		h := httpText(s)
		anyHTTP = anyHTTP || h != ""
		httpc.cells = append(httpc.cells, h)
		a := annotationText(s.Annotations)
		anyAnnotations = anyAnnotations || a != ""
		annots.cells = append(annots.cells, a)
	}
	cols := []*column{id, start, resp, dur, status, entry}
	if anyHTTP {
		cols = append(cols, httpc)
	}
	if anyAnnotations {
		cols = append(cols, annots)
	}
	remove := func(drop *column) func() {
		return func() { cols = slices.DeleteFunc(cols, func(c *column) bool { return c == drop }) }
	}
	// What gives way, in order, while the narrowest line is too wide.
	steps := []func(){
		remove(annots),
		remove(httpc),
		func() {
			if anyType {
				entry.cells = entryNames
			}
		},
		remove(dur),
		remove(resp),
		func() { entry.min = 11 },
	}
	for _, step := range steps {
		if minWidth(cols) <= o.width() {
			break
		}
		step()
	}
	fit(cols, o.width())

	var b strings.Builder
	var line []string
	for i, c := range cols {
		line = append(line, o.paint(bold, c.cell(c.header, i == len(cols)-1)))
	}
	b.WriteString(strings.TrimRight(strings.Join(line, "  "), " ") + "\n")
	for r, s := range rows {
		line = line[:0]
		for i, c := range cols {
			text := c.cell(c.cells[r], i == len(cols)-1)
			if c == status {
				text = o.paint(summaryStyle(s), text)
			}
			line = append(line, text)
		}
		b.WriteString(strings.TrimRight(strings.Join(line, "  "), " ") + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// responseText is the response time; unknown (negative, or 0 while the
// trace is partial: the entry segment is still in progress) shows as "…".
func responseText(s Summary) string {
	if s.ResponseTime < 0 || s.ResponseTime == 0 && s.IsPartial {
		return "…"
	}
	return compactDuration(s.ResponseTime)
}

// StatusText is a trace's status: FAULT, THROTTLE or ERROR (from the entry
// point's flags; throttle from any segment) with the HTTP status when it is
// in that class, PARTIAL for a trace still in progress without any of
// those, else OK.
func StatusText(s Summary) string {
	code := func(lo, hi int) string {
		if s.HTTPStatus >= lo && s.HTTPStatus <= hi {
			return " " + strconv.Itoa(s.HTTPStatus)
		}
		return ""
	}
	switch {
	case s.HasFault:
		return "FAULT" + code(500, 599)
	case s.HasThrottle:
		return "THROTTLE" + code(429, 429)
	case s.HasError:
		return "ERROR" + code(400, 499)
	case s.FaultIn != "":
		return "fault in " + truncate(clean(s.FaultIn), 20)
	case s.ErrorIn != "":
		return "error in " + truncate(clean(s.ErrorIn), 20)
	case s.IsPartial:
		return "PARTIAL"
	}
	return "OK"
}

func summaryStyle(s Summary) style {
	if st := flagStyle(s.HasFault || s.FaultIn != "", s.HasThrottle, s.HasError || s.ErrorIn != ""); st != plain {
		return st
	}
	if s.IsPartial {
		return dim
	}
	return plain
}

// startText is compact: the time of day for a trace of today, the date too
// for older ones.
func startText(t time.Time, now time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "?"
	}
	t = t.In(loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 02 15:04:05")
}

// entryText is the entry point's name and its type without "AWS::".
func entryText(s Summary) string {
	name := clean(s.EntryName)
	typ := clean(strings.TrimPrefix(s.EntryType, "AWS::"))
	switch {
	case name == "" && typ == "":
		return ""
	case typ == "":
		return name
	}
	return name + " (" + typ + ")"
}

func httpText(s Summary) string {
	var parts []string
	for _, p := range []string{s.HTTPMethod, s.HTTPURL} {
		if p = clean(p); p != "" {
			parts = append(parts, p)
		}
	}
	if s.HTTPStatus > 0 {
		parts = append(parts, strconv.Itoa(s.HTTPStatus))
	}
	return strings.Join(parts, " ")
}

// annotationText is "k=v k2=v1,v2"; values that would be ambiguous are
// quoted.
func annotationText(as []Annotation) string {
	var b strings.Builder
	for _, a := range as {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(clean(a.Key))
		b.WriteByte('=')
		for i, v := range a.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			if v = clean(v); v == "" || strings.ContainsAny(v, " =,\"") {
				v = strconv.Quote(v)
			}
			b.WriteString(v)
		}
	}
	return b.String()
}
