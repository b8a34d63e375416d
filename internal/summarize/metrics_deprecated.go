package summarize

import "github.com/VictoriaMetrics/metrics"

// registerAssemblerNames keeps the metrics' names from before the rename
// (counterspy_assembler_* → counterspy_summarizer_*, one vocabulary: the
// write side summarizes) for one release, so dashboards can move over.
// Each old name reads the same value as its new name.
//
// Deprecated names: remove in the release after the one that renamed them.
func registerAssemblerNames(ms *metrics.Set, s *Summarizer) {
	for old, c := range map[string]*metrics.Counter{
		`counterspy_assembler_trace_reloads_total`:     s.reloads,
		`counterspy_assembler_trace_evictions_total`:   s.evictions,
		`counterspy_assembler_summaries_written_total`: s.summariesWritten,
	} {
		ms.NewGauge(old, func() float64 { return float64(c.Get()) })
	}
	ms.NewGauge(`counterspy_assembler_traces_in_memory`, func() float64 { return float64(s.inMemory.Load()) })
}
