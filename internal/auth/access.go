package auth

import (
	"net/http"
	"strings"
)

// Action is what a request does, for the read/write check.
type Action struct {
	// Name is the operation as AWS's IAM would name it (xray:PutTraceSegments).
	Name string
	// Write is true for everything that changes state or runs code:
	// storing, creating, deleting, invoking.
	Write bool
}

// xrayReads are the X-Ray operations (by their REST path) that only read,
// from the X-Ray API reference
// (https://docs.aws.amazon.com/xray/latest/api/API_Operations.html).
// GetSamplingTargets is not one of them: it reports the caller's sampling
// statistics, a write, as X-Ray's managed policies count it
// (AWSXRayDaemonWriteAccess grants it with PutTraceSegments and
// PutTelemetryRecords).
var xrayReads = map[string]string{
	"/Traces":                      "BatchGetTraces",
	"/TraceSummaries":              "GetTraceSummaries",
	"/ServiceGraph":                "GetServiceGraph",
	"/TraceGraph":                  "GetTraceGraph",
	"/TimeSeriesServiceStatistics": "GetTimeSeriesServiceStatistics",
	"/GetGroup":                    "GetGroup",
	"/Groups":                      "GetGroups",
	"/GetSamplingRules":            "GetSamplingRules",
	"/SamplingStatisticSummaries":  "GetSamplingStatisticSummaries",
	"/EncryptionConfig":            "GetEncryptionConfig",
	"/InsightSummaries":            "GetInsightSummaries",
	"/Insight":                     "GetInsight",
	"/InsightEvents":               "GetInsightEvents",
	"/InsightImpactGraph":          "GetInsightImpactGraph",
	"/ListTagsForResource":         "ListTagsForResource",
	"/ListResourcePolicies":        "ListResourcePolicies",
	"/GetIndexingRules":            "GetIndexingRules",
	"/GetRetrievedTracesGraph":     "GetRetrievedTracesGraph",
	"/ListRetrievedTraces":         "ListRetrievedTraces",
	"/GetTraceSegmentDestination":  "GetTraceSegmentDestination",
}

// xrayWrites names the X-Ray operations that change state, for messages.
var xrayWrites = map[string]string{
	"/TraceSegments":    "PutTraceSegments",
	"/TelemetryRecords": "PutTelemetryRecords",
	"/SamplingTargets":  "GetSamplingTargets",
	"/CreateGroup":      "CreateGroup",
	"/UpdateGroup":      "UpdateGroup",
	"/DeleteGroup":      "DeleteGroup",
}

// DefaultAction classifies a request to the server: the X-Ray operations by
// the lists above; otherwise GET, HEAD and OPTIONS read (Lambda's GetFunction
// and ListFunctions, the logs query, metrics) and every other method writes
// (Lambda's Invoke, posting logs, OTLP exports). Anything unknown is a write,
// so a read-only key can never do more than read.
func DefaultAction(r *http.Request) Action {
	if r.Method == http.MethodPost {
		if op, ok := xrayReads[r.URL.Path]; ok {
			return Action{Name: "xray:" + op}
		}
		if op, ok := xrayWrites[r.URL.Path]; ok {
			return Action{Name: "xray:" + op, Write: true}
		}
	}
	name := r.Method + " " + r.URL.Path
	if strings.HasPrefix(r.URL.Path, "/2015-03-31/functions") {
		name = "lambda:" + name
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return Action{Name: name}
	}
	return Action{Name: name, Write: true}
}
