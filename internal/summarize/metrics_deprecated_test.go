package summarize

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// TestAssemblerNamesKept: every counterspy_summarizer_* metric is also
// exposed under its old counterspy_assembler_* name, with the same value.
func TestAssemblerNamesKept(t *testing.T) {
	ms := metrics.NewSet()
	s := New(nil, Options{}, ms, slog.New(slog.DiscardHandler))
	s.reloads.Add(3)
	s.evictions.Add(5)
	s.summariesWritten.Add(7)
	var b bytes.Buffer
	ms.WritePrometheus(&b)
	values := map[string]string{}
	for line := range strings.Lines(b.String()) {
		if name, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(name, "#") {
			values[name] = v
		}
	}
	for _, m := range []string{"trace_reloads_total", "trace_evictions_total", "summaries_written_total", "traces_in_memory"} {
		nv, ok := values["counterspy_summarizer_"+m]
		if !ok {
			t.Errorf("counterspy_summarizer_%s not exposed:\n%s", m, &b)
			continue
		}
		if ov := values["counterspy_assembler_"+m]; ov != nv {
			t.Errorf("counterspy_assembler_%s = %q, counterspy_summarizer_%s = %q", m, ov, m, nv)
		}
	}
	if values["counterspy_summarizer_summaries_written_total"] != "7" {
		t.Errorf("summaries written = %q, want 7", values["counterspy_summarizer_summaries_written_total"])
	}
}
