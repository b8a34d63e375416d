package api

import (
	"context"
)

type telemetryRecord struct {
	SegmentsReceivedCount  int64
	SegmentsSentCount      int64
	SegmentsSpilloverCount int64
	SegmentsRejectedCount  int64
}

type putTelemetryRecordsInput struct {
	TelemetryRecords []telemetryRecord
	Hostname         string
}

// putTelemetryRecords accepts the X-Ray daemon's health reports (sent when a
// real daemon forwards to us) and exposes their totals as metrics.
func (a *API) putTelemetryRecords(ctx context.Context, body []byte) (any, error) {
	var in putTelemetryRecordsInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	for _, r := range in.TelemetryRecords {
		a.ms.GetOrCreateCounter(`counterspy_daemon_segments_spillover_total`).AddInt64(r.SegmentsSpilloverCount)
		a.ms.GetOrCreateCounter(`counterspy_daemon_segments_rejected_total`).AddInt64(r.SegmentsRejectedCount)
	}
	return struct{}{}, nil
}
