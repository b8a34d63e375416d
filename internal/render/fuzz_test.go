package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzTimeline renders arbitrary documents: no panic, rows within the
// width, and nothing from a document reaches the terminal as a control
// character.
func FuzzTimeline(f *testing.F) {
	for _, name := range []string{"lambda", "fault", "inprogress", "deep"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		var tr struct{ Segments []Segment }
		if err := json.Unmarshal(data, &tr); err != nil {
			f.Fatal(err)
		}
		for _, s := range tr.Segments {
			f.Add(s.Document, 100)
		}
	}
	f.Add(`{"id":"a","name":"x\u001b[2J","start_time":"NaN","end_time":1e308,"subsegments":[{"start_time":-5}]}`, 40)
	f.Add(`{"name":"\u0000\n","start_time":1,"end_time":0.5,"cause":"x","fault":"true"}`, 3)
	// Free text ending in a space or a control character (CI found the first).
	f.Add(`{"name":"a","start_time":1,"end_time":2,"fault":true,"cause":{"exceptions":[{"type":"00000000 ","message":"m\u0001"}]}}`, 100)
	f.Add(`{"name":"a","start_time":1,"end_time":2,"error":true,"cause":{"exceptions":[{"type":"t\u0000"}]}}`, 100)
	f.Add(`{"name":"a","start_time":1,"end_time":2,"throttle":true,"cause":"abc\u0002"}`, 100)
	f.Fuzz(func(t *testing.T, doc string, cols int) {
		e, err := ParseEntity([]byte(doc))
		if err != nil {
			return
		}
		cols %= 400
		tr := &Trace{ID: "1-00000001-000000000000000000000001", Segments: []*Entity{e}}
		var buf bytes.Buffer
		if err := Timeline(&buf, tr, Options{Width: cols, Location: time.UTC}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.ContainsFunc(out, func(r rune) bool { return r != '\n' && isControl(r) }) {
			t.Fatalf("control character in output:\n%q", out)
		}
		w := cols
		if w <= 0 {
			w = DefaultWidth
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasSuffix(l, " ") {
				t.Fatalf("trailing spaces: %q", l)
			}
		}
		rows, _, _ := strings.Cut(out, "\n\n")
		// Narrow widths may overflow (fixed columns); wide ones must not.
		for _, l := range strings.Split(rows, "\n") {
			if w >= 60 && width(l) > w {
				t.Fatalf("row of %d columns at width %d: %q", width(l), w, l)
			}
		}
	})
}
