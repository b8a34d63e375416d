package render

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultWidth is the width used when Options.Width is not set: what the
// commands fall back to when the terminal size is unknown.
const DefaultWidth = 100

// Options says how to render.
type Options struct {
	// Width is the number of terminal columns to fill; <= 0 means
	// DefaultWidth. Lines may exceed it when it is too small for the
	// columns that are never shortened (trace IDs, durations).
	Width int
	// Color enables ANSI colors: faults red, errors yellow, throttles
	// magenta.
	Color bool
	// Location is the time zone of printed times; nil means time.Local.
	Location *time.Location
	// Now decides whether the table's start column needs the date (only
	// when not today); the zero value means time.Now().
	Now time.Time
}

func (o Options) width() int {
	if o.Width <= 0 {
		return DefaultWidth
	}
	return o.Width
}

func (o Options) location() *time.Location {
	if o.Location == nil {
		return time.Local
	}
	return o.Location
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// style is an ANSI SGR sequence.
type style string

const (
	plain   style = ""
	bold    style = "\x1b[1m"
	dim     style = "\x1b[2m"
	red     style = "\x1b[31m"
	yellow  style = "\x1b[33m"
	magenta style = "\x1b[35m"
	reset         = "\x1b[0m"
)

// stripStyles removes the escape sequences paint adds.
func stripStyles(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	for _, st := range []style{bold, dim, red, yellow, magenta, reset} {
		s = strings.ReplaceAll(s, string(st), "")
	}
	return s
}

// paint wraps text in s when colors are on. Padding must be applied before,
// so that escape sequences never count as width.
func (o Options) paint(s style, text string) string {
	if !o.Color || s == plain || text == "" {
		return text
	}
	return string(s) + text + reset
}

// flagStyle is the color of an entity or trace with these flags: fault wins
// over throttle, which wins over error (a 429 sets error and throttle).
func flagStyle(fault, throttle, isErr bool) style {
	switch {
	case fault:
		return red
	case throttle:
		return magenta
	case isErr:
		return yellow
	}
	return plain
}

// width is the number of terminal columns s takes (one per rune: the text
// we print is sanitized of control characters; wide East Asian characters
// are rare in segment names and counted as one).
func width(s string) int { return utf8.RuneCountInString(s) }

// truncate shortens s to at most n columns, marking the cut with "…".
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if width(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// padRight and padLeft fill s with spaces to n columns.
func padRight(s string, n int) string {
	if d := n - width(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

func padLeft(s string, n int) string {
	if d := n - width(s); d > 0 {
		return strings.Repeat(" ", d) + s
	}
	return s
}

// clean makes text from a document safe to print: control characters
// (escape sequences a document could smuggle into the terminal, newlines
// that would break the layout) become spaces.
func clean(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) }

// firstLine is the first line of s, with "…" when more lines follow.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}

// millis formats seconds as milliseconds, the unit of the timeline.
func millis(sec float64) string {
	ms := sec * 1000
	switch {
	case math.Abs(ms) >= 1e7: // hours: not a real duration, keep it short
		return fmt.Sprintf("%.4gs", sec)
	case ms < 1:
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.1fms", ms)
}

// compactDuration formats seconds for the table: 0.4ms, 12.3ms, 253ms,
// 1.25s, 12.50s, 4m05s, 2h13m.
func compactDuration(sec float64) string {
	if sec < 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "?"
	}
	ms := sec * 1000
	switch {
	case ms < 10:
		return fmt.Sprintf("%.1fms", ms)
	case ms < 999.5:
		return fmt.Sprintf("%.0fms", ms)
	case sec < 59.995:
		return fmt.Sprintf("%.2fs", sec)
	case sec < 3600:
		s := int(math.Round(sec))
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case sec < 100*3600:
		m := int(math.Round(sec / 60))
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	}
	return fmt.Sprintf("%.4gh", sec/3600)
}

// epochTime converts seconds since the epoch.
func epochTime(sec float64) time.Time {
	whole, frac := math.Modf(sec)
	// Documents carry microseconds at most; rounding drops float noise
	// (.001 is .000999927 as a float64 of epoch seconds).
	return time.Unix(int64(whole), int64(math.Round(frac*1e9))).Round(time.Microsecond)
}

// column is one column of a table: header, cells, and how it may shrink.
type column struct {
	header string
	cells  []string
	right  bool // right-aligned (numbers)
	// min is how narrow the column may get; 0 means never shortened.
	min int
	// shrinkFirst columns give up their room before the others.
	shrinkFirst bool
	width       int
}

// fit sets the widths: natural widths, then the widest shrinkable column
// (a shrinkFirst one while there is one) loses a column at a time until the
// line fits total, or nothing can shrink any more.
func fit(cols []*column, total int) {
	sum := 2 * (len(cols) - 1)
	for _, c := range cols {
		c.width = natural(c)
		sum += c.width
	}
	for sum > total {
		var widest *column
		for _, c := range cols {
			if c.min == 0 || c.width <= c.min {
				continue
			}
			if widest == nil || c.shrinkFirst && !widest.shrinkFirst ||
				c.shrinkFirst == widest.shrinkFirst && c.width > widest.width {
				widest = c
			}
		}
		if widest == nil {
			return
		}
		widest.width--
		sum--
	}
}

// natural is the width of c's widest cell or header.
func natural(c *column) int {
	w := width(c.header)
	for _, s := range c.cells {
		w = max(w, width(s))
	}
	return w
}

// minWidth is the narrowest line cols can make.
func minWidth(cols []*column) int {
	sum := 2 * (len(cols) - 1)
	for _, c := range cols {
		w := natural(c)
		if c.min > 0 {
			w = min(w, c.min)
		}
		sum += w
	}
	return sum
}

// cell renders one cell at its column's width; the last column is not
// padded on the right, so that lines carry no trailing spaces.
func (c *column) cell(s string, last bool) string {
	s = truncate(s, c.width)
	switch {
	case c.right:
		return padLeft(s, c.width)
	case last:
		return s
	}
	return padRight(s, c.width)
}
