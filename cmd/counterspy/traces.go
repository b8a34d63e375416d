package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/render"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func init() {
	commands["traces"] = command{"find traces: a table of trace summaries matching a filter expression (GetTraceSummaries)", runTraces}
}

func runTraces(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("traces", stderr)
	cf := addClientFlags(fs)
	of := addOutputFlags(fs)
	filter := fs.String("filter", "", "X-Ray filter `expression`, e.g. 'service(\"checkout\") AND responsetime > 1' or 'annotation.tenant = \"acme\"' (default: every trace)")
	wf := addWindowFlags(fs)
	rangeType := fs.String("time-range-type", string(types.TimeRangeTypeTraceId),
		"what the window applies to: TraceId (when traces started), Event (when they were last active) or Service (when a segment ended)")
	limit := fs.Int("limit", 50, "show at most this many traces, the most recent first (0: every trace in the window)")
	asJSON := fs.Bool("json", false, "print the trace summaries as the API returned them, one JSON object per line")
	idsOnly := fs.Bool("ids", false, "print only the trace IDs, one a line, for scripts: counterspy trace \"$(counterspy traces --ids --limit 1)\"")
	setUsage(fs, "[flags]", `
Lists the traces of a time window that match a filter expression, the most recent first.
Show one with 'counterspy trace <trace-id>'.`,
		`counterspy traces --since 1h`,
		`counterspy traces --filter 'service("xraystarter-py") { fault }' --since 6h`,
		`counterspy traces --filter 'responsetime > 1' --limit 0 --json`,
		`counterspy trace "$(counterspy traces --filter 'service() { fault }' --ids --limit 1)"`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *asJSON && *idsOnly {
		return usageError{fmt.Errorf("--json and --ids: choose one")}
	}
	from, to, err := wf.window(fs, time.Now())
	if err != nil {
		return err
	}
	trt, err := timeRangeType(*rangeType)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usageError{fmt.Errorf("--limit %d: want 0 (no limit) or more", *limit)}
	}
	opts, err := of.options(stdout)
	if err != nil {
		return err
	}
	var capture *captureClient
	var optFns []func(*xray.Options)
	if *asJSON {
		capture = &captureClient{next: sdkhttp.Client()}
		optFns = append(optFns, func(o *xray.Options) { o.HTTPClient = capture })
	}
	client, err := cf.client(optFns...)
	if err != nil {
		return err
	}

	in := &xray.GetTraceSummariesInput{StartTime: aws.Time(from), EndTime: aws.Time(to), TimeRangeType: trt}
	if *filter != "" {
		in.FilterExpression = filter
	}
	var summaries []types.TraceSummary
	var raws []json.RawMessage
	more := false
	for {
		out, err := client.GetTraceSummaries(ctx, in)
		if err != nil {
			return cf.apiError("GetTraceSummaries", err)
		}
		summaries = append(summaries, out.TraceSummaries...)
		if capture != nil {
			page, err := capture.summaries()
			if err != nil {
				return err
			}
			if len(page) != len(out.TraceSummaries) {
				return fmt.Errorf("GetTraceSummaries: read %d raw summaries, the SDK %d", len(page), len(out.TraceSummaries))
			}
			raws = append(raws, page...)
		}
		next := aws.ToString(out.NextToken)
		if *limit > 0 && len(summaries) >= *limit {
			more = len(summaries) > *limit || next != ""
			summaries = summaries[:*limit]
			if raws != nil {
				raws = raws[:*limit]
			}
			break
		}
		// An empty token ends the listing; so does a repeated one, which
		// would otherwise loop forever.
		if next == "" || in.NextToken != nil && *in.NextToken == next {
			break
		}
		in.NextToken = aws.String(next)
	}

	if len(summaries) == 0 {
		fmt.Fprintf(stderr, "counterspy traces: no traces %s\n", describeWindow(from, to, trt, *filter))
		return nil
	}
	switch {
	case *idsOnly:
		var buf bytes.Buffer
		for _, s := range summaries {
			buf.WriteString(aws.ToString(s.Id))
			buf.WriteByte('\n')
		}
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	case *asJSON:
		var buf bytes.Buffer
		for _, r := range raws {
			if err := json.Compact(&buf, r); err != nil {
				return fmt.Errorf("GetTraceSummaries: summary is not JSON: %w", err)
			}
			buf.WriteByte('\n')
		}
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	default:
		rows := make([]render.Summary, len(summaries))
		for i, s := range summaries {
			rows[i] = summaryRow(s)
		}
		if err := render.Table(stdout, rows, opts); err != nil {
			return err
		}
	}
	// --ids asked for exactly that many; say so only to readers of a table or JSON.
	if more && !*idsOnly {
		fmt.Fprintf(stderr, "counterspy traces: showing the %d most recent traces; --limit shows more\n", *limit)
	}
	return nil
}

// windowFlags are the time-window flags of the commands that read a window
// (traces, map).
type windowFlags struct {
	since      time.Duration
	start, end string
}

func addWindowFlags(fs *flag.FlagSet) *windowFlags {
	wf := &windowFlags{}
	fs.DurationVar(&wf.since, "since", time.Hour, "look this far back from --end or now (the X-Ray API accepts windows of at most 24h)")
	fs.StringVar(&wf.start, "start", "", "start of the window, RFC 3339 (e.g. 2026-01-01T10:00:00Z); instead of --since")
	fs.StringVar(&wf.end, "end", "", "end of the window, RFC 3339 (default: now)")
	return wf
}

// window resolves the flags once fs is parsed.
func (wf *windowFlags) window(fs *flag.FlagSet, now time.Time) (from, to time.Time, err error) {
	sinceSet := false
	fs.Visit(func(f *flag.Flag) { sinceSet = sinceSet || f.Name == "since" })
	return window(now, wf.start, wf.end, wf.since, sinceSet)
}

// window resolves the time flags: --start/--end when given, else the
// --since before --end (or now). An end left to default is rounded up to
// the next second, so that traces started this second (trace IDs carry
// whole seconds) are in the window.
func window(now time.Time, start, end string, since time.Duration, sinceSet bool) (from, to time.Time, err error) {
	if start != "" && sinceSet {
		return from, to, usageError{errors.New("--since and --start both set: give one")}
	}
	if since <= 0 {
		return from, to, usageError{fmt.Errorf("--since %v: want a positive duration such as 15m or 2h", since)}
	}
	to = now.Truncate(time.Second).Add(time.Second)
	if end != "" {
		if to, err = time.Parse(time.RFC3339Nano, end); err != nil {
			return from, to, usageError{fmt.Errorf("--end: %v", err)}
		}
	}
	from = to.Add(-since)
	if start != "" {
		if from, err = time.Parse(time.RFC3339Nano, start); err != nil {
			return from, to, usageError{fmt.Errorf("--start: %v", err)}
		}
	}
	if !to.After(from) {
		return from, to, usageError{fmt.Errorf("the window ends (%s) before it starts (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))}
	}
	return from, to, nil
}

// timeRangeType accepts the X-Ray values in any case.
func timeRangeType(s string) (types.TimeRangeType, error) {
	values := types.TimeRangeType("").Values()
	for _, v := range values {
		if strings.EqualFold(s, string(v)) {
			return v, nil
		}
	}
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = string(v)
	}
	return "", usageError{fmt.Errorf("--time-range-type %q: want %s", s, strings.Join(names, ", "))}
}

func describeWindow(from, to time.Time, trt types.TimeRangeType, filter string) string {
	s := fmt.Sprintf("from %s to %s (time range type %s)", from.Local().Format(time.DateTime), to.Local().Format(time.DateTime), trt)
	if filter != "" {
		s += " match " + strconv.Quote(filter)
	}
	return s
}

// rootCauseService names the service of a trace's first root cause, as the
// console does: the one whose entity path holds an exception, else the
// deepest. services lists a cause's services as (name, has an exception).
func rootCauseService[C any](causes []C, services func(C) []rootService) string {
	for _, c := range causes {
		svcs := services(c)
		if i := slices.IndexFunc(svcs, func(s rootService) bool { return s.exceptions }); i >= 0 {
			return svcs[i].name
		}
		if len(svcs) > 0 {
			return svcs[len(svcs)-1].name
		}
	}
	return ""
}

type rootService struct {
	name       string
	exceptions bool
}

func faultServices(c types.FaultRootCause) []rootService {
	var out []rootService
	for _, s := range c.Services {
		out = append(out, rootService{aws.ToString(s.Name),
			slices.ContainsFunc(s.EntityPath, func(e types.FaultRootCauseEntity) bool { return len(e.Exceptions) > 0 })})
	}
	return out
}

func errorServices(c types.ErrorRootCause) []rootService {
	var out []rootService
	for _, s := range c.Services {
		out = append(out, rootService{aws.ToString(s.Name),
			slices.ContainsFunc(s.EntityPath, func(e types.ErrorRootCauseEntity) bool { return len(e.Exceptions) > 0 })})
	}
	return out
}

// summaryRow is what the table shows of a summary.
func summaryRow(s types.TraceSummary) render.Summary {
	r := render.Summary{
		ID:           aws.ToString(s.Id),
		ResponseTime: -1,
		Duration:     aws.ToFloat64(s.Duration),
		HasFault:     aws.ToBool(s.HasFault),
		HasError:     aws.ToBool(s.HasError),
		HasThrottle:  aws.ToBool(s.HasThrottle),
		IsPartial:    aws.ToBool(s.IsPartial),
	}
	switch {
	case s.StartTime != nil:
		r.Start = *s.StartTime
	default:
		if id, err := xrayid.ParseTraceID(r.ID); err == nil {
			r.Start = time.Unix(int64(id.Epoch()), 0)
		}
	}
	if s.ResponseTime != nil {
		r.ResponseTime = *s.ResponseTime
	}
	if e := s.EntryPoint; e != nil {
		r.EntryName, r.EntryType = aws.ToString(e.Name), aws.ToString(e.Type)
	}
	r.FaultIn = rootCauseService(s.FaultRootCauses, faultServices)
	r.ErrorIn = rootCauseService(s.ErrorRootCauses, errorServices)
	if h := s.Http; h != nil {
		r.HTTPMethod, r.HTTPURL, r.HTTPStatus = aws.ToString(h.HttpMethod), aws.ToString(h.HttpURL), int(aws.ToInt32(h.HttpStatus))
	}
	keys := make([]string, 0, len(s.Annotations))
	for k := range s.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := render.Annotation{Key: k}
		for _, v := range s.Annotations[k] {
			if text := annotationValue(v.AnnotationValue); !slices.Contains(a.Values, text) {
				a.Values = append(a.Values, text)
			}
		}
		r.Annotations = append(r.Annotations, a)
	}
	return r
}

func annotationValue(v types.AnnotationValue) string {
	switch v := v.(type) {
	case *types.AnnotationValueMemberStringValue:
		return v.Value
	case *types.AnnotationValueMemberNumberValue:
		return strconv.FormatFloat(v.Value, 'f', -1, 64)
	case *types.AnnotationValueMemberBooleanValue:
		return strconv.FormatBool(v.Value)
	}
	return "?"
}

// captureClient keeps the body of the last successful response, so that
// --json prints the summaries exactly as the server sent them (the SDK's
// types lose the shape of annotation values and timestamps).
type captureClient struct {
	next aws.HTTPClient
	mu   sync.Mutex
	body []byte
}

func (c *captureClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	c.mu.Lock()
	c.body = body
	c.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// summaries returns the TraceSummaries of the last response.
func (c *captureClient) summaries() ([]json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var page struct {
		TraceSummaries []json.RawMessage
	}
	if err := json.Unmarshal(c.body, &page); err != nil {
		return nil, fmt.Errorf("GetTraceSummaries: response is not JSON: %w", err)
	}
	return page.TraceSummaries, nil
}
