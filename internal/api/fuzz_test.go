package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
)

// fuzzPaths are every operation's path, as the fuzzer picks them.
var fuzzPaths = []string{
	"/TraceSegments", "/Traces", "/TraceSummaries", "/GetSamplingRules", "/SamplingTargets", "/TelemetryRecords",
	"/ServiceGraph", "/TraceGraph", "/TimeSeriesServiceStatistics",
	"/CreateGroup", "/GetGroup", "/Groups", "/UpdateGroup", "/DeleteGroup",
}

// FuzzOperations sends arbitrary bodies to every X-Ray operation of an API
// wired as serve wires it (pipeline, summarizer, groups, Pebble store):
// whatever the body, the answer is a 200 with a JSON body or a client error
// in X-Ray's envelope, never a panic or an internal failure.
func FuzzOperations(f *testing.F) {
	now := time.Now().Unix()
	trace := fmt.Sprintf("1-%08x-a006649127e371903a2de979", now)
	seeds := map[string]string{
		"/TraceSegments":               fmt.Sprintf(`{"TraceSegmentDocuments":["{\"name\":\"a\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"%s\",\"start_time\":%d,\"end_time\":%d}"]}`, trace, now-1, now),
		"/Traces":                      fmt.Sprintf(`{"TraceIds":[%q]}`, trace),
		"/TraceSummaries":              fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"FilterExpression":"service(\"a\") { fault }"}`, now-60, now),
		"/GetSamplingRules":            `{}`,
		"/SamplingTargets":             `{"SamplingStatisticsDocuments":[{"RuleName":"Default","ClientID":"c","Timestamp":1,"RequestCount":1,"SampledCount":1}]}`,
		"/TelemetryRecords":            `{"TelemetryRecords":[{"SegmentsReceivedCount":1}]}`,
		"/ServiceGraph":                fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, now-60, now),
		"/TraceGraph":                  fmt.Sprintf(`{"TraceIds":[%q]}`, trace),
		"/TimeSeriesServiceStatistics": fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"Period":60}`, now-60, now),
		"/CreateGroup":                 `{"GroupName":"g","FilterExpression":"fault"}`,
		"/GetGroup":                    `{"GroupName":"g"}`,
		"/Groups":                      `{}`,
		"/UpdateGroup":                 `{"GroupName":"g","FilterExpression":"error"}`,
		"/DeleteGroup":                 `{"GroupName":"g"}`,
	}
	for i, p := range fuzzPaths {
		f.Add(uint8(i), []byte(seeds[p]))
	}
	f.Add(uint8(0), []byte(`{"TraceSegmentDocuments":["[]","{}",1]}`))

	h := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		path := fuzzPaths[int(op)%len(fuzzPaths)]
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: %d answer is not JSON: %q", path, body, w.Code, w.Body)
		}
		switch {
		case w.Code == http.StatusOK:
		case w.Code >= 400 && w.Code < 500:
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type == "" || e.Message == "" || w.Header().Get("x-amzn-ErrorType") != e.Type {
				t.Fatalf("%s %q: %d %v %s: not X-Ray's error envelope", path, body, w.Code, w.Header(), w.Body)
			}
		default:
			t.Fatalf("%s %q: status %d %s", path, body, w.Code, w.Body)
		}
	})
}

func fuzzAPI(f *testing.F) http.Handler {
	st, err := pebblestore.Open(f.TempDir(), pebblestore.Options{NoSync: true, Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	reg, err := groups.Open(context.Background(), st, groups.Options{Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	ms := metrics.NewSet()
	sum := summarize.New(st, summarize.Options{Groups: reg}, ms, quiet)
	pipe := ingest.New(st, ingest.Options{FlushInterval: time.Millisecond, Observer: sum}, ms, quiet)
	f.Cleanup(func() {
		pipe.Close(context.Background())
		st.Close()
	})
	return api.New(pipe, st, api.Options{Registry: reg, Retention: 24 * time.Hour, MaxBodyBytes: 1 << 20}, ms, quiet)
}
