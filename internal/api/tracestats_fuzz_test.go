package api

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzParseStatsTime: the trace-stats endpoint's start and end come from a
// URL; anything not a time is a 400 naming the parameter, never a panic.
func FuzzParseStatsTime(f *testing.F) {
	for _, s := range []string{"1714557600", "1714557600.25", "2026-12-07T10:00:00Z", "", "NaN", "1e400", "-1", "yesterday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseStatsTime("start", s); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("%q: %v is not a 400", s, err)
			}
		}
	})
}
