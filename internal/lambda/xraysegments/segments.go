package xraysegments

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Span is a timed subsegment of one of Lambda's segments.
type Span struct {
	ID         xrayid.SegmentID
	Start, End time.Time
	Fault      bool
}

// Service is the AWS::Lambda segment: the request's time in the Lambda
// service. For asynchronous (Event) invocations it holds Dwell Time (queue
// time before the first attempt) and one Attempt #N per attempt.
type Service struct {
	TraceID xrayid.TraceID
	ID      xrayid.SegmentID
	// Parent is the caller's subsegment (the Parent of the request's
	// X-Amzn-Trace-Id), 0 when Lambda started the trace.
	Parent     xrayid.SegmentID
	Name, ARN  string
	RequestID  string
	Start, End time.Time
	// InProgress marks an asynchronous invocation whose retries are still
	// pending; a later complete document replaces it.
	InProgress bool
	// Status is the Invoke API's answer: 200, 202, 429.
	Status                 int
	Error, Throttle, Fault bool
	Dwell                  *Span
	Attempts               []Span
}

// Function is the AWS::Lambda::Function segment of one invocation attempt.
// Its ID is the Parent the function's runtime receives, so the function's
// own SDK subsegments (sent with parent_id = this ID) nest under it; the
// read path moves them into Invocation.
type Function struct {
	TraceID              xrayid.TraceID
	ID, Parent           xrayid.SegmentID
	Name, ARN, AccountID string
	LogGroup             string
	Start, End           time.Time
	// Init is set on cold starts only; Invocation and Overhead when the
	// handler ran.
	Init, Invocation, Overhead *Span
	Error, Fault               bool
	// Cause is the cause object (JSON), nil for none. Exceptions get IDs
	// when they come without (as the runtimes' error causes do).
	Cause []byte
	// ResponseLatency (event delivered → response) and RuntimeOverhead
	// (response → next-event request) become the aws:responseLatency and
	// aws:runtimeOverhead annotations (milliseconds), as in current traces.
	ResponseLatency, RuntimeOverhead time.Duration
}

// Daemon-protocol header, as the Go SDK writes it.
const daemonHeader = "{\"format\": \"json\", \"version\": 1}\n"

// AppendDatagram appends the daemon header and the document.
func AppendDatagram(dst, doc []byte) []byte {
	dst = append(dst, daemonHeader...)
	return append(dst, doc...)
}

// AppendJSON appends the segment document.
func (s *Service) AppendJSON(dst []byte) []byte {
	w := jw{b: dst}
	w.open()
	w.str("id", s.ID.String())
	w.str("name", s.Name)
	w.str("trace_id", s.TraceID.String())
	w.time("start_time", s.Start)
	if s.InProgress {
		w.key("in_progress")
		w.b = append(w.b, "true"...)
	} else {
		w.time("end_time", s.End)
	}
	if s.Parent != 0 {
		w.str("parent_id", s.Parent.String())
	}
	if s.Status != 0 {
		w.key("http")
		w.b = append(w.b, `{"response":{"status":`...)
		w.b = strconv.AppendInt(w.b, int64(s.Status), 10)
		w.b = append(w.b, "}}"...)
	}
	w.key("aws")
	w.b = append(w.b, '{')
	w.first = true
	w.str("request_id", s.RequestID)
	w.b = append(w.b, '}')
	w.first = false
	w.flags(s.Error, s.Throttle, s.Fault)
	w.str("origin", "AWS::Lambda")
	w.str("resource_arn", s.ARN)
	if s.Dwell != nil || len(s.Attempts) > 0 {
		w.key("subsegments")
		w.b = append(w.b, '[')
		n := 0
		sub := func(name string, sp *Span) {
			if n > 0 {
				w.b = append(w.b, ',')
			}
			n++
			w.span(name, sp, "")
		}
		if s.Dwell != nil {
			sub("Dwell Time", s.Dwell)
		}
		for i := range s.Attempts {
			sub("Attempt #"+strconv.Itoa(i+1), &s.Attempts[i])
		}
		w.b = append(w.b, ']')
	}
	w.close()
	return w.b
}

// AppendJSON appends the segment document.
func (f *Function) AppendJSON(dst []byte) []byte {
	w := jw{b: dst}
	w.open()
	w.str("id", f.ID.String())
	w.str("name", f.Name)
	w.str("trace_id", f.TraceID.String())
	w.time("start_time", f.Start)
	w.time("end_time", f.End)
	if f.Parent != 0 {
		w.str("parent_id", f.Parent.String())
	}
	w.key("aws")
	w.b = append(w.b, '{')
	w.first = true
	w.str("account_id", f.AccountID)
	w.str("function_arn", f.ARN)
	w.key("resource_names")
	w.b = append(w.b, '[')
	w.b = jsonenc.AppendString(w.b, f.Name)
	w.b = append(w.b, ']')
	if f.LogGroup != "" {
		w.key("cloudwatch_logs")
		w.b = append(w.b, `[{"log_group":`...)
		w.b = jsonenc.AppendString(w.b, f.LogGroup)
		w.b = append(w.b, "}]"...)
	}
	w.b = append(w.b, '}')
	w.first = false
	w.flags(f.Error, false, f.Fault)
	if len(f.Cause) > 0 {
		w.key("cause")
		w.b = append(w.b, f.Cause...)
	}
	w.str("origin", "AWS::Lambda::Function")
	if f.Invocation != nil {
		w.key("annotations")
		w.b = append(w.b, '{')
		w.first = true
		w.num("aws:responseLatency", f.ResponseLatency)
		if f.Overhead != nil {
			w.num("aws:runtimeOverhead", f.RuntimeOverhead)
		}
		w.b = append(w.b, '}')
		w.first = false
	}
	w.key("subsegments")
	w.b = append(w.b, '[')
	n := 0
	for _, s := range []struct {
		name string
		sp   *Span
	}{{"Initialization", f.Init}, {"Invocation", f.Invocation}, {"Overhead", f.Overhead}} {
		if s.sp == nil {
			continue
		}
		if n > 0 {
			w.b = append(w.b, ',')
		}
		n++
		w.span(s.name, s.sp, f.ARN)
	}
	w.b = append(w.b, ']')
	w.close()
	return w.b
}

// Cause builds a cause object for an error the function reported (or the
// platform saw) without an X-Ray cause of its own.
func Cause(ids *IDs, workingDir, errType, message string) []byte {
	type exception struct {
		ID      string `json:"id"`
		Message string `json:"message,omitempty"`
		Type    string `json:"type,omitempty"`
	}
	c := struct {
		WorkingDirectory string      `json:"working_directory,omitempty"`
		Paths            []string    `json:"paths"`
		Exceptions       []exception `json:"exceptions"`
	}{workingDir, []string{}, []exception{{ID: ids.Segment().String(), Message: truncate(message, 1024), Type: errType}}}
	b, _ := json.Marshal(c)
	return b
}

// FixCause takes the X-Ray cause a runtime sent with its error
// (Lambda-Runtime-Function-Xray-Error-Cause) and returns it as a cause
// object with an ID on every exception, or nil when it is not a JSON object.
func FixCause(ids *IDs, raw []byte) []byte {
	var c map[string]json.RawMessage
	if json.Unmarshal(raw, &c) != nil || c == nil {
		return nil
	}
	var exs []map[string]json.RawMessage
	if json.Unmarshal(c["exceptions"], &exs) == nil {
		for _, ex := range exs {
			if _, ok := ex["id"]; !ok {
				id, _ := json.Marshal(ids.Segment().String())
				ex["id"] = id
			}
		}
		c["exceptions"], _ = json.Marshal(exs)
	}
	out, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// jw is a minimal JSON object writer.
type jw struct {
	b     []byte
	first bool
}

func (w *jw) open()  { w.b = append(w.b, '{'); w.first = true }
func (w *jw) close() { w.b = append(w.b, '}'); w.first = false }

func (w *jw) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = jsonenc.AppendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = jsonenc.AppendString(w.b, v)
}

// time writes seconds since the epoch with microseconds.
func (w *jw) time(k string, t time.Time) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, float64(t.UnixMicro())/1e6, 'f', 6, 64)
}

// num writes a duration in milliseconds with three decimals.
func (w *jw) num(k string, d time.Duration) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, float64(d.Microseconds())/1e3, 'f', 3, 64)
}

func (w *jw) flags(errf, throttle, fault bool) {
	for _, f := range []struct {
		k string
		v bool
	}{{"error", errf}, {"throttle", throttle}, {"fault", fault}} {
		if f.v {
			w.key(f.k)
			w.b = append(w.b, "true"...)
		}
	}
}

func (w *jw) span(name string, sp *Span, arn string) {
	w.open()
	w.str("id", sp.ID.String())
	w.str("name", name)
	w.time("start_time", sp.Start)
	w.time("end_time", sp.End)
	if sp.Fault {
		w.key("fault")
		w.b = append(w.b, "true"...)
	}
	if arn != "" {
		w.key("aws")
		w.b = append(w.b, `{"function_arn":`...)
		w.b = jsonenc.AppendString(w.b, arn)
		w.b = append(w.b, '}')
	}
	w.close()
}
