package insights

import (
	"math"
	"testing"
)

func TestBinomialTail(t *testing.T) {
	for _, c := range []struct {
		n, k int64
		p    float64
		want float64
	}{
		{10, 0, 0.5, 1},
		{10, 11, 0.5, 0},
		{10, 10, 0.5, math.Pow(0.5, 10)},
		{10, 9, 0.5, 11 * math.Pow(0.5, 10)},
		{100, 5, 0.01, 0.0034},        // P(X ≥ 5 | 100, 1 %)
		{1000, 30, 0.01, 2.06e-7},     // three times the rate
		{200000, 2200, 0.01, 5.02e-6}, // many requests
		{50, 15, 0.0116, 1.42e-17},    // the burst of the API test
	} {
		got := BinomialTail(c.n, c.k, c.p)
		if math.Abs(got-c.want) > 0.15*c.want && math.Abs(got-c.want) > 1e-12 {
			t.Errorf("P(X ≥ %d | n=%d, p=%v) = %.3g, want %.3g", c.k, c.n, c.p, got, c.want)
		}
	}
}

func TestAnomalous(t *testing.T) {
	d := &Detector{}
	d.opts.setDefaults()
	f := func(rFault, rTotal, bFault, bTotal int64, want bool) {
		t.Helper()
		if got := d.anomalous(&stats{fault: rFault, total: rTotal}, &stats{fault: bFault, total: bTotal}); got != want {
			t.Errorf("recent %d/%d vs baseline %d/%d: %v, want %v", rFault, rTotal, bFault, bTotal, got, want)
		}
	}
	f(4, 4, 0, 1000, false)    // fewer than 5 faults
	f(15, 50, 6, 600, true)    // 30 % against 1 %
	f(6, 600, 60, 6000, false) // the usual 1 %
	f(25, 500, 10, 1000, true) // 5 % against 1 % over 500 requests: p ≈ 1e-10
	f(8, 200, 10, 1000, false) // 4 % against 1 % over 200: p ≈ 1e-3, not enough
}
