package server

import (
	"context"
	"time"
)

// EvaluateInsights runs Insights detection at now, as the once-a-minute
// loop does (docs/insights.md): tests and tools use it to open or close
// insights without waiting for the next minute.
func (s *Server) EvaluateInsights(ctx context.Context, now time.Time) error {
	return s.api.EvaluateInsights(ctx, now)
}
