package graph

import "testing"

func TestForecast(t *testing.T) {
	// An hour of minutes with 4 faults each: mean 4, sample deviation 0,
	// Poisson √4 = 2 → 4 ± 6 → [0, 10].
	var pts []Point
	for m := int64(0); m < 60; m++ {
		pts = append(pts, Point{Start: 6000 + m*60, Stats: Stats{OK: 96, Fault: 4}})
	}
	if lo, hi := Forecast(pts, 6000+60*60, 60); lo != 0 || hi != 10 {
		t.Errorf("steady 4/minute: [%d, %d], want [0, 10]", lo, hi)
	}
	// 100 a minute: 100 ± 30 → [70, 130].
	for i := range pts {
		pts[i].Stats.Fault = 100
	}
	if lo, hi := Forecast(pts, 6000+60*60, 60); lo != 70 || hi != 130 {
		t.Errorf("steady 100/minute: [%d, %d], want [70, 130]", lo, hi)
	}
	// Points at or after the period forecast, or older than an hour, do
	// not count: no history gives [0, 0].
	if lo, hi := Forecast(pts, 6000, 60); lo != 0 || hi != 0 {
		t.Errorf("no history: [%d, %d]", lo, hi)
	}
	// Five-minute periods: 12 of them in the hour, each 5 × 100 faults.
	var five []Point
	for p := int64(0); p < 12; p++ {
		five = append(five, Point{Start: 6000 + p*300, Stats: Stats{Fault: 500}})
	}
	if lo, hi := Forecast(five, 6000+3600, 300); lo != 432 || hi != 568 {
		t.Errorf("5-minute periods: [%d, %d], want [432, 568] (500 ± 3√500)", lo, hi)
	}
}
