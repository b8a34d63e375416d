package render

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	f := func(sec float64, wantMillis, wantCompact string) {
		t.Helper()
		if got := millis(sec); got != wantMillis {
			t.Errorf("millis(%v) = %q, want %q", sec, got, wantMillis)
		}
		if got := compactDuration(sec); got != wantCompact {
			t.Errorf("compactDuration(%v) = %q, want %q", sec, got, wantCompact)
		}
	}
	f(0, "0.00ms", "0.0ms")
	f(0.00042, "0.42ms", "0.4ms")
	f(0.0123, "12.3ms", "12ms")
	f(0.253, "253.0ms", "253ms")
	f(0.9996, "999.6ms", "1.00s")
	f(1.25, "1250.0ms", "1.25s")
	f(59.999, "59999.0ms", "1m00s")
	f(245, "245000.0ms", "4m05s")
	f(7300, "7300000.0ms", "2h02m")
	f(1e300, "1e+300s", "2.778e+296h")
	f(400000, "4e+05s", "111.1h")
	f(-1, "-1000.00ms", "?")
}

func TestTextHelpers(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(truncate("abcdef", 6), "abcdef")
	f(truncate("abcdef", 5), "abcd…")
	f(truncate("äöüßéè", 3), "äö…")
	f(truncate("abc", 1), "…")
	f(truncate("abc", 0), "")
	f(padLeft("ab", 4), "  ab")
	f(padRight("ab", 4), "ab  ")
	f(padRight("abcdef", 4), "abcdef")
	f(clean("evil\x1b[31mname\nnext\t"), "evil [31mname next ")
	f(clean("fine ✓"), "fine ✓")
	f(firstLine("first\nsecond"), "first …")
	f(firstLine("  only  "), "only")
	f(epochTime(1767225600.001).UTC().Format(time.RFC3339Nano), "2026-01-01T00:00:00.001Z")
}

func TestFit(t *testing.T) {
	a := &column{header: "A", cells: []string{"aaaaaaaaaa"}}                   // 10, fixed
	b := &column{header: "B", cells: []string{"bbbbbbbbbbbbbbbbbbbb"}, min: 5} // 20
	c := &column{header: "C", cells: []string{"cccccccccccc"}, min: 5}         // 12
	fit([]*column{a, b, c}, 10+2+20+2+12)
	if a.width != 10 || b.width != 20 || c.width != 12 {
		t.Errorf("natural widths: %d %d %d", a.width, b.width, c.width)
	}
	// 8 columns too many: the widest shrinkable column gives first.
	fit([]*column{a, b, c}, 10+2+20+2+12-8)
	if a.width != 10 || b.width != 12 || c.width != 12 {
		t.Errorf("after shrinking 8: %d %d %d, want 10 12 12", a.width, b.width, c.width)
	}
	// Never below min, never the fixed column.
	fit([]*column{a, b, c}, 1)
	if a.width != 10 || b.width != 5 || c.width != 5 {
		t.Errorf("at minimum: %d %d %d, want 10 5 5", a.width, b.width, c.width)
	}
}

func TestStatusText(t *testing.T) {
	f := func(s Summary, want string) {
		t.Helper()
		if got := StatusText(s); got != want {
			t.Errorf("%+v: %q, want %q", s, got, want)
		}
	}
	f(Summary{}, "OK")
	f(Summary{HTTPStatus: 200}, "OK")
	f(Summary{HasFault: true, HTTPStatus: 502}, "FAULT 502")
	f(Summary{HasFault: true, HTTPStatus: 200}, "FAULT")
	f(Summary{HasFault: true, HasThrottle: true, HasError: true, HTTPStatus: 500}, "FAULT 500")
	f(Summary{HasError: true, HasThrottle: true, HTTPStatus: 429}, "THROTTLE 429")
	f(Summary{HasThrottle: true, HTTPStatus: 200}, "THROTTLE")
	f(Summary{HasError: true, HTTPStatus: 404}, "ERROR 404")
	f(Summary{HasError: true}, "ERROR")
	f(Summary{IsPartial: true}, "PARTIAL")
	f(Summary{IsPartial: true, HasFault: true, HTTPStatus: 503}, "FAULT 503")
	// A root cause below a healthy entry point.
	f(Summary{FaultIn: "xraystarter-py", HTTPStatus: 202}, "fault in xraystarter-py")
	f(Summary{ErrorIn: "auth", FaultIn: "db", IsPartial: true}, "fault in db")
	f(Summary{ErrorIn: "auth", IsPartial: true}, "error in auth")
	f(Summary{HasError: true, FaultIn: "db", HTTPStatus: 404}, "ERROR 404")
	f(Summary{FaultIn: "a-service-with-a-very-long-name"}, "fault in a-service-with-a-ve…")
}

func TestBar(t *testing.T) {
	tl := &timeline{t0: 100, t1: 110}
	f := func(e Entity, w int, want string) {
		t.Helper()
		lead, drawn := tl.bar(&e, w)
		if got := lead + drawn; got != want {
			t.Errorf("%+v on %d cells: %q, want %q", e, w, got, want)
		}
	}
	f(Entity{Start: 100, End: 110}, 10, "██████████")
	f(Entity{Start: 100, End: 105}, 10, "█████")
	f(Entity{Start: 105, End: 110}, 10, "     █████")
	f(Entity{Start: 100, End: 100.5}, 10, "▌")
	f(Entity{Start: 102.5, End: 103.75}, 10, "  █▊")
	f(Entity{Start: 104, End: 104}, 10, "    ▏")         // instant: a sliver
	f(Entity{Start: 109.99, End: 110}, 10, "         █") // starts are rounded down to a cell
	f(Entity{Start: 105, InProgress: true}, 10, "     ████…")
	f(Entity{Start: 110, InProgress: true}, 10, "         …")
	f(Entity{}, 10, "") // no start time: no bar
}

func TestTimelineColors(t *testing.T) {
	tr := &Trace{ID: "1-00000001-000000000000000000000001", Segments: []*Entity{
		{ID: "a", Name: "ok", Start: 1, End: 2},
		{ID: "b", Name: "faulty", Start: 1, End: 2, Fault: true, Throttle: true},
		{ID: "c", Name: "throttled", Start: 1, End: 2, Error: true, Throttle: true, HTTP: HTTP{Status: 429}},
		{ID: "d", Name: "erroneous", Start: 1, End: 2, Error: true, HTTP: HTTP{Status: 404}},
		{ID: "e", Name: "\x1b[2Jsneaky", Start: 1, End: 2},
	}}
	var buf bytes.Buffer
	if err := Timeline(&buf, tr, Options{Width: 80, Color: true}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	want := map[string]style{"faulty": red, "throttled": magenta, "erroneous": yellow}
	for _, l := range lines[1:6] {
		for name, st := range want {
			if strings.Contains(l, name) && !strings.Contains(l, string(st)+"█") {
				t.Errorf("%s row is not drawn in %q: %q", name, st, l)
			}
		}
		if strings.Contains(l, " ok ") && strings.Contains(l, string(red)) {
			t.Errorf("ok row colored: %q", l)
		}
	}
	if strings.Contains(buf.String(), "\x1b[2J") {
		t.Errorf("an escape sequence from a document reached the output:\n%q", buf.String())
	}
	for _, marker := range []string{"fault throttle", "429 throttle", "404 error"} {
		if !strings.Contains(buf.String(), marker) {
			t.Errorf("no %q in\n%s", marker, buf.String())
		}
	}
}

func TestTableCleansText(t *testing.T) {
	var buf bytes.Buffer
	rows := []Summary{{ID: "1-00000001-000000000000000000000001", EntryName: "svc\x1b[2J", EntryType: "AWS::X\n",
		HTTPURL: "https://x/\r", Annotations: []Annotation{{Key: "k\x07", Values: []string{"v\x1b", "two words"}}}}}
	if err := Table(&buf, rows, Options{Width: 300}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.ContainsFunc(out, func(r rune) bool { return r != '\n' && isControl(r) }) {
		t.Errorf("control character in the table:\n%q", out)
	}
	if !strings.Contains(out, `k ="v ","two words"`) {
		t.Errorf("annotations not shown as k=v:\n%s", out)
	}
}

func TestFitShrinkFirst(t *testing.T) {
	a := &column{header: "A", cells: []string{"aaaaaaaaaaaaaaaaaaaa"}, min: 5}                // 20
	b := &column{header: "B", cells: []string{"bbbbbbbbbbbb"}, min: 5, shrinkFirst: true}     // 12
	c := &column{header: "C", cells: []string{"cccccccccccccccc"}, min: 5, shrinkFirst: true} // 16
	fit([]*column{a, b, c}, 20+2+12+2+16-10)
	if a.width != 20 || b.width != 9 || c.width != 9 {
		t.Errorf("shrinking 10: %d %d %d, want 20 9 9", a.width, b.width, c.width)
	}
	fit([]*column{a, b, c}, 20+2+12+2+16-30)
	if a.width != 8 || b.width != 5 || c.width != 5 {
		t.Errorf("shrinking 30: %d %d %d, want 8 5 5", a.width, b.width, c.width)
	}
}
