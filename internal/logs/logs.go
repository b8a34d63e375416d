// Package logs defines function log records: the lines a Lambda function
// (or the Lambda platform: START, END, REPORT) writes, linked to the
// request and the trace they belong to, so a trace's logs can be shown next
// to its timeline.
package logs

import "time"

// Stream says where a line came from.
type Stream string

const (
	Stdout   Stream = "stdout"
	Stderr   Stream = "stderr"
	Platform Stream = "platform" // START, END, REPORT, XRAY and init lines
)

// Record is one log line.
type Record struct {
	Time time.Time `json:"time"`
	// Function is the function name; LogGroup the CloudWatch-style group
	// (/aws/lambda/<function>) and LogStream the instance's stream
	// (2026/11/25/[$LATEST]<instance id>).
	Function  string `json:"function"`
	LogGroup  string `json:"logGroup"`
	LogStream string `json:"logStream"`
	// RequestID is the invocation's request ID, empty for lines written
	// outside an invocation (init).
	RequestID string `json:"requestId,omitempty"`
	// TraceID is the X-Ray trace ID of the invocation, when traced.
	TraceID string `json:"traceId,omitempty"`
	Stream  Stream `json:"stream"`
	Message string `json:"message"`
}
