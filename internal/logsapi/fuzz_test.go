package logsapi

import (
	"encoding/json"
	"testing"
)

// FuzzParseLogRecords feeds arbitrary bodies to the logs endpoint's parser:
// it never panics, and what it accepts is valid records that survive a JSON
// round trip (what the store and `counterspy logs` read back).
func FuzzParseLogRecords(f *testing.F) {
	f.Add([]byte(`[{"time":"2026-11-25T12:00:00Z","function":"fn","requestId":"r1","traceId":"1-581cf771-a006649127e371903a2de979","stream":"stdout","message":"hello"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"not":"an array"}`))
	f.Add([]byte(`[{"time":"2026-11-25T12:00:00Z","function":"fn","stream":"syslog","message":"x"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := parseLogRecords(body)
		if err != nil {
			if recs != nil {
				t.Fatalf("records returned with an error: %v", err)
			}
			return
		}
		for i, rec := range recs {
			if err := validLogRecord(rec); err != nil {
				t.Fatalf("accepted record %d is invalid: %v", i, err)
			}
		}
		b, err := json.Marshal(recs)
		if err != nil {
			t.Fatalf("accepted records do not marshal: %v", err)
		}
		again, err := parseLogRecords(b)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("accepted records do not parse again: %v (%d of %d)", err, len(again), len(recs))
		}
	})
}
