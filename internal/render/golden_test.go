package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files with the current output")

// golden compares got with testdata/name.golden (or writes it with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fixture reads testdata/name.json, a trace as BatchGetTraces returns it
// (compiled from loadgen documents, or written by hand for deep.json).
func fixture(t *testing.T, name string) *Trace {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Id            string
		Duration      float64
		LimitExceeded bool
		Segments      []Segment
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := ParseTrace(tr.Id, tr.Duration, tr.LimitExceeded, tr.Segments)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTimelineGolden(t *testing.T) {
	for _, name := range []string{"lambda", "fault", "inprogress", "deep", "otel"} {
		for _, color := range []bool{false, true} {
			suffix := ""
			if color {
				suffix = "_color"
			}
			t.Run(name+suffix, func(t *testing.T) {
				var buf bytes.Buffer
				err := Timeline(&buf, fixture(t, name), Options{Width: 100, Color: color, Location: time.UTC})
				if err != nil {
					t.Fatal(err)
				}
				if !color && strings.Contains(buf.String(), "\x1b") {
					t.Errorf("escape sequence in colorless output:\n%s", buf.String())
				}
				checkLines(t, buf.String(), 100)
				golden(t, "timeline_"+name+suffix, buf.Bytes())
			})
		}
	}
}

// TestTimelineWidthsGolden renders the fault trace at the widths a terminal
// commonly has, and narrower.
func TestTimelineWidthsGolden(t *testing.T) {
	for _, w := range []int{60, 80, 160} {
		var buf bytes.Buffer
		if err := Timeline(&buf, fixture(t, "fault"), Options{Width: w, Location: time.UTC}); err != nil {
			t.Fatal(err)
		}
		checkLines(t, buf.String(), w)
		golden(t, fmt.Sprintf("timeline_fault_%d", w), buf.Bytes())
	}
}

// tableRows are summaries like those of the seed and large scenarios.
func tableRows() []Summary {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return tm
	}
	return []Summary{
		{ID: "1-6955b900-a835bea533cef6f10ef3213e", Start: at("2026-01-01T00:00:00.036Z"), ResponseTime: 0.1, Duration: 0.1,
			HasFault: true, EntryName: "web-frontend", EntryType: "AWS::ECS::Container",
			HTTPMethod: "GET", HTTPURL: "https://www.example-shop.com/products/34356", HTTPStatus: 502,
			Annotations: []Annotation{{"cache_hit", []string{"true"}}, {"customer_tier", []string{"standard"}}, {"region", []string{"us-east"}}}},
		{ID: "1-6955b900-e109d9cdddb59fdbd0373ae4", Start: at("2026-01-01T00:00:00.030Z"), ResponseTime: 0.0123, Duration: 0.0456,
			HasError: true, HasThrottle: true, EntryName: "shop-api/prod", EntryType: "AWS::ApiGateway::Stage",
			HTTPMethod: "POST", HTTPURL: "https://api.example-shop.com/prod/cart/items", HTTPStatus: 429,
			Annotations: []Annotation{{"aws:api_id", []string{"a1b2c3d4e5"}}, {"aws:api_stage", []string{"prod"}}}},
		{ID: "1-6955b900-28495a71dabdff664e85dc5f", Start: at("2026-01-01T00:00:00.001Z"), ResponseTime: 0, Duration: 6.332419,
			IsPartial: true, EntryName: "admin-portal", EntryType: "AWS::EC2::Instance",
			HTTPMethod: "GET", HTTPURL: "https://admin.example-shop.com/admin/reports/sales"},
		{ID: "1-6955b900-22fbd2e55981cd6cd7bbf2d3", Start: at("2026-01-01T00:00:00.052Z"), ResponseTime: 0.253, Duration: 0.253,
			EntryName: "xraystarter-go", EntryType: "AWS::Lambda", HTTPStatus: 202,
			Annotations: []Annotation{{"aws:responseLatency", []string{"85.379"}}, {"note", []string{"two words", ""}}}},
		{ID: "1-6954f2c1-0123456789abcdef01234567", Start: at("2025-12-31T09:41:05.5Z"), ResponseTime: 125.2, Duration: 7300,
			HasError: true, EntryName: "order-service", HTTPStatus: 404, HTTPMethod: "GET", HTTPURL: "http://orders/x"},
	}
}

func TestTableGolden(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		width int
		color bool
	}{
		{"table_80", 80, false},
		{"table", 100, false},
		{"table_color", 100, true},
		{"table_160", 160, false},
		{"table_220", 220, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Table(&buf, tableRows(), Options{Width: tc.width, Color: tc.color, Location: time.UTC, Now: now}); err != nil {
				t.Fatal(err)
			}
			checkLines(t, buf.String(), tc.width)
			golden(t, tc.name, buf.Bytes())
		})
	}
}

// checkLines checks that no line has trailing spaces and that the lines of
// the first and last paragraphs (the rows; the summary) fit width. The
// exceptions in between are never cut: the terminal wraps them.
func checkLines(t *testing.T, out string, w int) {
	t.Helper()
	paras := strings.Split(strings.TrimSuffix(stripStyles(out), "\n"), "\n\n")
	for p, para := range paras {
		for i, l := range strings.Split(para, "\n") {
			if strings.HasSuffix(l, " ") {
				t.Errorf("paragraph %d line %d has trailing spaces: %q", p+1, i+1, l)
			}
			if (p == 0 || p == len(paras)-1) && width(l) > w {
				t.Errorf("paragraph %d line %d is %d columns wide: %q", p+1, i+1, width(l), l)
			}
		}
	}
}
