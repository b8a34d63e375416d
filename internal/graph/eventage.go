package graph

import "github.com/counterspy/counterspy/internal/summary"

// EventAge is how long the event a link edge's call sent waited before its
// consumer took it: from the end of the producer's call (the send) to the
// start of the consumer's request that received it, the earliest of the
// consumer's requests that started after the call did (X-Ray: "Age is
// calculated each time an event is received"). A consumer that started
// before the send returned gives 0. It reports false for calls still in
// progress, edges that are not links, and consumers without a request.
func EventAge(s *summary.Summary, e *summary.Edge, c *summary.Call) (float64, bool) {
	if !e.Link || c.InProgress || c.End == 0 || e.To < 0 || int(e.To) >= len(s.Nodes) {
		return 0, false
	}
	found := false
	var start float64
	for _, r := range s.Nodes[e.To].Requests {
		if r.Start >= c.Start && (!found || r.Start < start) {
			start, found = r.Start, true
		}
	}
	if !found {
		return 0, false
	}
	return max(0, start-c.End), true
}
