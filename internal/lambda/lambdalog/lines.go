// Package lambdalog is a Lambda function's log stream: the platform lines the
// Lambda service writes (START, END, REPORT, XRAY, INIT_START, INIT_REPORT,
// timeouts) in their exact text format (spec §6.4), and where the records go
// (a Sink: the Counterspy server over HTTP, memory for tests, a terminal).
package lambdalog

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Version is the only function version the emulator runs.
const Version = "$LATEST"

// StartLine is "START RequestId: <id> Version: $LATEST".
func StartLine(requestID string) string {
	return "START RequestId: " + requestID + " Version: " + Version
}

// EndLine is "END RequestId: <id>".
func EndLine(requestID string) string { return "END RequestId: " + requestID }

// Report holds the fields of a REPORT line.
type Report struct {
	RequestID string
	// Duration is the invocation's run time (Invocation: event delivered to
	// response received).
	Duration time.Duration
	MemoryMB int
	// MaxMemoryUsedMB is the function process's peak resident memory.
	MaxMemoryUsedMB int
	// InitDuration is set on cold starts only.
	InitDuration time.Duration
	// Status is "" for a successful invocation, else "error" or "timeout";
	// ErrorType goes with "error" (Runtime.ExitError, ...).
	Status, ErrorType string
}

// Line formats the report as Lambda does: tab-separated fields, each
// followed by a tab, Init Duration only on cold starts. Billed Duration
// includes Init Duration: custom runtimes were always billed for init, and
// since August 1, 2025 every on-demand function is
// (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
//
//	REPORT RequestId: <id>	Duration: 201.67 ms	Billed Duration: 682 ms	Memory Size: 2048 MB	Max Memory Used: 81 MB	Init Duration: 480.25 ms
func (r Report) Line() string {
	var b strings.Builder
	b.Grow(192)
	b.WriteString("REPORT RequestId: ")
	b.WriteString(r.RequestID)
	b.WriteString("\tDuration: ")
	b.WriteString(Millis(r.Duration))
	b.WriteString(" ms\tBilled Duration: ")
	b.WriteString(strconv.FormatInt(BilledMillis(r.Duration+r.InitDuration), 10))
	b.WriteString(" ms\tMemory Size: ")
	b.WriteString(strconv.Itoa(r.MemoryMB))
	b.WriteString(" MB\tMax Memory Used: ")
	b.WriteString(strconv.Itoa(r.MaxMemoryUsedMB))
	b.WriteString(" MB\t")
	if r.InitDuration > 0 {
		b.WriteString("Init Duration: ")
		b.WriteString(Millis(r.InitDuration))
		b.WriteString(" ms\t")
	}
	if r.Status != "" {
		b.WriteString("Status: ")
		b.WriteString(r.Status)
		b.WriteString("\t")
		if r.ErrorType != "" {
			b.WriteString("Error Type: ")
			b.WriteString(r.ErrorType)
			b.WriteString("\t")
		}
	}
	return b.String()
}

// XRayLine is the line that follows REPORT for a traced invocation; its
// SegmentId is the invocation's AWS::Lambda::Function segment.
func XRayLine(traceID, segmentID string, sampled bool) string {
	return "XRAY TraceId: " + traceID + "\tSegmentId: " + segmentID + "\tSampled: " + strconv.FormatBool(sampled) + "\t"
}

// InitStartLine opens a new execution environment's log stream.
func InitStartLine(runtime, runtimeARN string) string {
	return "INIT_START Runtime Version: " + runtime + "\tRuntime Version ARN: " + runtimeARN
}

// InitReportLine is written when the init phase fails or times out
// (status "error" or "timeout"; a successful init has no INIT_REPORT, its
// duration goes into the first REPORT).
func InitReportLine(d time.Duration, status, errorType string) string {
	s := "INIT_REPORT Init Duration: " + Millis(d) + " ms\tPhase: init\tStatus: " + status
	if errorType != "" {
		s += "\tError Type: " + errorType
	}
	return s
}

// TimeoutMessage is "<RFC3339 ms time> <request id> Task timed out after
// 3.00 seconds", both the log line and the errorMessage the caller gets.
func TimeoutMessage(at time.Time, requestID string, timeout time.Duration) string {
	return FormatTime(at) + " " + requestID + " Task timed out after " +
		strconv.FormatFloat(timeout.Seconds(), 'f', 2, 64) + " seconds"
}

// Millis formats d in milliseconds with two decimals, as REPORT does.
func Millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// BilledMillis rounds d up to the next millisecond (Lambda bills in 1 ms
// steps), with at least 1 ms.
func BilledMillis(d time.Duration) int64 {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	return max(ms, 1)
}

// FormatTime is the time format of CloudWatch and Lambda's log prefixes:
// UTC, milliseconds, "Z".
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
