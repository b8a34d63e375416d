package graph

import "math"

// ForecastLookback is how much history a fault-count forecast uses.
const ForecastLookback = 3600 // seconds

// Forecast is the band of fault counts expected in the period starting at
// start (Unix seconds), from the periods of points in the hour before it
// (X-Ray's ForecastStatistics: FaultCountLow and FaultCountHigh). Periods
// with no requests count as no faults. The band is the mean of those
// periods' fault counts ± 3 standard deviations, the deviation being the
// larger of the sample's and the Poisson one (√mean), so that a quiet
// history does not give a band of width zero; it is clipped at 0 and
// rounded outwards.
func Forecast(points []Point, start, period int64) (low, high int64) {
	if period <= 0 {
		return 0, 0
	}
	n := max(ForecastLookback/period, 1)
	from := start - n*period
	counts := make([]float64, n)
	for _, p := range points {
		if p.Start >= from && p.Start < start {
			counts[(p.Start-from)/period] += float64(p.Stats.Fault)
		}
	}
	var sum float64
	for _, c := range counts {
		sum += c
	}
	mean := sum / float64(n)
	var ss float64
	for _, c := range counts {
		ss += (c - mean) * (c - mean)
	}
	sd := math.Sqrt(mean)
	if n > 1 {
		sd = max(sd, math.Sqrt(ss/float64(n-1)))
	}
	return int64(math.Max(0, math.Floor(mean-3*sd))), int64(math.Ceil(mean + 3*sd))
}
