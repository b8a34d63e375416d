package api

import "testing"

// SetTraceStatsBudget makes the trace-stats scan budget n summaries for the
// rest of the test.
func SetTraceStatsBudget(t testing.TB, n int64) {
	old := traceStatsMaxExamined
	traceStatsMaxExamined = n
	t.Cleanup(func() { traceStatsMaxExamined = old })
}

// SetProfileMaxTraces bounds the traces a profile of a filter reads, for
// the rest of the test.
func SetProfileMaxTraces(t testing.TB, n int) {
	old := profileMaxTraces
	profileMaxTraces = n
	t.Cleanup(func() { profileMaxTraces = old })
}
