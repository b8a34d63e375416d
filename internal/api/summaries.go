package api

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/query"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
)

type getTraceSummariesInput struct {
	StartTime        *Timestamp
	EndTime          *Timestamp
	TimeRangeType    *string
	Sampling         *bool
	SamplingStrategy *samplingStrategyInput
	FilterExpression *string
	NextToken        *string
}

type samplingStrategyInput struct {
	Name  *string
	Value *float64
}

type getTraceSummariesOutput struct {
	TraceSummaries       []traceSummaryOutput
	ApproximateTime      Timestamp
	TracesProcessedCount int64
	NextToken            string `json:",omitempty"`
}

// traceSummaryOutput is X-Ray's TraceSummary. Lists and maps are always
// present (empty rather than absent), as X-Ray returns them.
type traceSummaryOutput struct {
	ID                     string `json:"Id"`
	StartTime              Timestamp
	Duration               float64
	ResponseTime           float64
	HasFault               bool
	HasError               bool
	HasThrottle            bool
	IsPartial              bool
	Http                   httpOutput
	Annotations            map[string][]valueWithServiceIDs
	Users                  []traceUserOutput
	ServiceIds             []serviceIDOutput
	ResourceARNs           []resourceARNOutput
	InstanceIds            []instanceIDOutput
	AvailabilityZones      []availabilityZoneOutput
	EntryPoint             *serviceIDOutput `json:",omitempty"`
	FaultRootCauses        []rootCauseOutput
	ErrorRootCauses        []rootCauseOutput
	ResponseTimeRootCauses []responseTimeRootCauseOutput
	Revision               uint32
	MatchedEventTime       *Timestamp `json:",omitempty"`
}

type httpOutput struct {
	HttpURL    string `json:",omitempty"`
	HttpStatus int    `json:",omitempty"`
	HttpMethod string `json:",omitempty"`
	UserAgent  string `json:",omitempty"`
	ClientIp   string `json:",omitempty"`
}

type serviceIDOutput struct {
	Name      string `json:",omitempty"`
	Names     []string
	AccountId string `json:",omitempty"`
	Type      string `json:",omitempty"`
}

type valueWithServiceIDs struct {
	AnnotationValue annotationValueOutput
	ServiceIds      []serviceIDOutput
}

// annotationValueOutput holds exactly one of its members.
type annotationValueOutput struct {
	NumberValue  *float64 `json:",omitempty"`
	BooleanValue *bool    `json:",omitempty"`
	StringValue  *string  `json:",omitempty"`
}

type traceUserOutput struct {
	UserName   string
	ServiceIds []serviceIDOutput
}

type resourceARNOutput struct{ ARN string }

type instanceIDOutput struct {
	ID string `json:"Id"`
}

type availabilityZoneOutput struct{ Name string }

type rootCauseOutput struct {
	Services        []rootCauseServiceOutput
	ClientImpacting bool
}

type rootCauseServiceOutput struct {
	Name       string
	Names      []string
	Type       string `json:",omitempty"`
	AccountId  string `json:",omitempty"`
	Inferred   bool
	EntityPath []rootCauseEntityOutput
}

type rootCauseEntityOutput struct {
	Name       string
	Exceptions []rootCauseExceptionOutput
	Remote     bool
}

type rootCauseExceptionOutput struct {
	Name    string `json:",omitempty"`
	Message string `json:",omitempty"`
}

type responseTimeRootCauseOutput struct {
	Services        []responseTimeRootCauseServiceOutput
	ClientImpacting bool
}

type responseTimeRootCauseServiceOutput struct {
	Name       string
	Names      []string
	Type       string `json:",omitempty"`
	AccountId  string `json:",omitempty"`
	Inferred   bool
	EntityPath []responseTimeRootCauseEntityOutput
}

type responseTimeRootCauseEntityOutput struct {
	Name     string
	Coverage float64
	Remote   bool
}

func (a *API) getTraceSummaries(ctx context.Context, body []byte) (any, error) {
	var in getTraceSummariesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	q, err := a.traceSummariesQuery(&in)
	if err != nil {
		return nil, err
	}
	page, err := a.query.Run(ctx, q)
	if err != nil {
		var ie *query.InvalidError
		if errors.As(err, &ie) {
			return nil, invalid("%s", ie.Msg)
		}
		return nil, err
	}
	a.log.Debug("trace summaries", "plan", page.Plan.String(), "examined", page.Examined,
		"results", len(page.Results), "more", page.NextToken != "")
	if page.Skipped > 0 {
		a.log.Warn("trace summaries that cannot be decoded were skipped", "count", page.Skipped, "plan", page.Plan.String())
	}
	out := getTraceSummariesOutput{
		TraceSummaries:       make([]traceSummaryOutput, len(page.Results)),
		ApproximateTime:      Timestamp{page.ApproximateTime},
		TracesProcessedCount: page.Examined,
		NextToken:            page.NextToken,
	}
	for i := range page.Results {
		out.TraceSummaries[i] = renderSummary(&page.Results[i])
	}
	return out, nil
}

// traceSummariesQuery validates the input members the query package does
// not see as X-Ray spells them.
func (a *API) traceSummariesQuery(in *getTraceSummariesInput) (query.Query, error) {
	var q query.Query
	if in.StartTime == nil || in.StartTime.IsZero() {
		return q, invalid("StartTime is required")
	}
	if in.EndTime == nil || in.EndTime.IsZero() {
		return q, invalid("EndTime is required")
	}
	q.Start, q.End = in.StartTime.Time, in.EndTime.Time
	if in.TimeRangeType != nil {
		tr, err := query.ParseTimeRange(*in.TimeRangeType)
		if err != nil {
			return q, invalid("%v", err)
		}
		q.TimeRange = tr
	}
	// A strategy is checked whenever it is given, and applied when Sampling
	// is true.
	var sampling query.Sampling
	if s := in.SamplingStrategy; s != nil {
		if s.Name == nil {
			return q, invalid("SamplingStrategy.Name is required (PartialScan or FixedRate)")
		}
		st, err := query.ParseStrategy(*s.Name)
		if err != nil {
			return q, invalid("%v", err)
		}
		if s.Value == nil {
			return q, invalid("SamplingStrategy.Value is required")
		}
		sampling = query.Sampling{Strategy: st, Value: *s.Value}
		if err := sampling.Validate(); err != nil {
			return q, invalid("%v", err)
		}
	}
	if in.Sampling != nil && *in.Sampling {
		if sampling.Strategy == query.NoSampling {
			return q, invalid("Sampling is true but SamplingStrategy is missing: give its Name (PartialScan or FixedRate) and Value")
		}
		q.Sampling = sampling
	}
	if in.FilterExpression != nil {
		expr := strings.TrimSpace(*in.FilterExpression)
		if ids, ok := traceIDList(expr); ok {
			// Bare trace IDs, which the filter language cannot express:
			// look them up.
			q.TraceIDs = ids
		} else if expr != "" {
			f, err := filter.Parse(expr, filter.Options{Group: a.opts.Groups})
			if err != nil {
				return q, invalid("%v", err)
			}
			q.Filter = f
		}
	}
	if in.NextToken != nil {
		q.Cursor = *in.NextToken
	}
	return q, nil
}

func renderSummary(r *query.Result) traceSummaryOutput {
	s := r.Summary
	ids := make([]serviceIDOutput, len(s.Nodes))
	for i := range s.Nodes {
		ids[i] = serviceID(&s.Nodes[i])
	}
	nodeIDs := func(nodes []int32) []serviceIDOutput {
		out := make([]serviceIDOutput, 0, len(nodes))
		for _, n := range nodes {
			if n >= 0 && int(n) < len(ids) {
				out = append(out, ids[n])
			}
		}
		return out
	}
	o := traceSummaryOutput{
		ID:           s.TraceID.String(),
		StartTime:    Timestamp{microsTime(s.Start)},
		Duration:     roundMicros(s.Duration),
		ResponseTime: roundMicros(s.ResponseTime),
		HasFault:     s.HasFault, HasError: s.HasError, HasThrottle: s.HasThrottle, IsPartial: s.IsPartial,
		Http: httpOutput{HttpURL: s.HTTP.URL, HttpStatus: s.HTTP.Status, HttpMethod: s.HTTP.Method,
			UserAgent: s.HTTP.UserAgent, ClientIp: s.HTTP.ClientIP},
		Annotations:            make(map[string][]valueWithServiceIDs, len(s.Annotations)),
		Users:                  make([]traceUserOutput, len(s.Users)),
		ServiceIds:             ids,
		ResourceARNs:           make([]resourceARNOutput, len(s.ResourceARNs)),
		InstanceIds:            make([]instanceIDOutput, len(s.InstanceIDs)),
		AvailabilityZones:      make([]availabilityZoneOutput, len(s.AvailabilityZones)),
		FaultRootCauses:        rootCauses(s.FaultRootCauses),
		ErrorRootCauses:        rootCauses(s.ErrorRootCauses),
		ResponseTimeRootCauses: responseTimeRootCauses(s.ResponseTimeRootCauses),
		Revision:               s.Revision,
	}
	for i := range s.Annotations {
		an := &s.Annotations[i]
		o.Annotations[an.Key] = append(o.Annotations[an.Key], valueWithServiceIDs{
			AnnotationValue: annotationValue(&an.Value), ServiceIds: nodeIDs(an.Nodes)})
	}
	for i, u := range s.Users {
		o.Users[i] = traceUserOutput{UserName: u.Name, ServiceIds: nodeIDs(u.Nodes)}
	}
	for i, arn := range s.ResourceARNs {
		o.ResourceARNs[i] = resourceARNOutput{ARN: arn}
	}
	for i, id := range s.InstanceIDs {
		o.InstanceIds[i] = instanceIDOutput{ID: id}
	}
	for i, az := range s.AvailabilityZones {
		o.AvailabilityZones[i] = availabilityZoneOutput{Name: az}
	}
	if s.Entry >= 0 && int(s.Entry) < len(ids) {
		o.EntryPoint = &ids[s.Entry]
	}
	if !r.MatchedEventTime.IsZero() {
		o.MatchedEventTime = &Timestamp{r.MatchedEventTime}
	}
	return o
}

func serviceID(n *summary.Node) serviceIDOutput {
	return serviceIDOutput{Name: n.Name, Names: names(n.Name, n.Names), AccountId: n.AccountID, Type: n.Type}
}

// names is a node's Names, which always include its Name.
func names(name string, all []string) []string {
	if len(all) == 0 {
		return []string{name}
	}
	return all
}

func annotationValue(v *segment.Annotation) annotationValueOutput {
	switch v.Type {
	case segment.AnnotationNumber:
		n := v.Number
		return annotationValueOutput{NumberValue: &n}
	case segment.AnnotationBool:
		b := v.Bool
		return annotationValueOutput{BooleanValue: &b}
	}
	s := v.String
	return annotationValueOutput{StringValue: &s}
}

func rootCauses(rcs []summary.RootCause) []rootCauseOutput {
	out := make([]rootCauseOutput, len(rcs))
	for i := range rcs {
		rc := &rcs[i]
		o := rootCauseOutput{Services: make([]rootCauseServiceOutput, len(rc.Services)), ClientImpacting: rc.ClientImpacting}
		for j := range rc.Services {
			sv := &rc.Services[j]
			so := rootCauseServiceOutput{Name: sv.Name, Names: names(sv.Name, sv.Names), Type: sv.Type, AccountId: sv.AccountID,
				Inferred: sv.Inferred, EntityPath: make([]rootCauseEntityOutput, len(sv.EntityPath))}
			for k := range sv.EntityPath {
				en := &sv.EntityPath[k]
				eo := rootCauseEntityOutput{Name: en.Name, Remote: en.Remote, Exceptions: make([]rootCauseExceptionOutput, len(en.Exceptions))}
				for x, ex := range en.Exceptions {
					eo.Exceptions[x] = rootCauseExceptionOutput{Name: ex.Name, Message: ex.Message}
				}
				so.EntityPath[k] = eo
			}
			o.Services[j] = so
		}
		out[i] = o
	}
	return out
}

func responseTimeRootCauses(rcs []summary.RootCause) []responseTimeRootCauseOutput {
	out := make([]responseTimeRootCauseOutput, len(rcs))
	for i := range rcs {
		rc := &rcs[i]
		o := responseTimeRootCauseOutput{Services: make([]responseTimeRootCauseServiceOutput, len(rc.Services)), ClientImpacting: rc.ClientImpacting}
		for j := range rc.Services {
			sv := &rc.Services[j]
			so := responseTimeRootCauseServiceOutput{Name: sv.Name, Names: names(sv.Name, sv.Names), Type: sv.Type, AccountId: sv.AccountID,
				Inferred: sv.Inferred, EntityPath: make([]responseTimeRootCauseEntityOutput, len(sv.EntityPath))}
			for k := range sv.EntityPath {
				en := &sv.EntityPath[k]
				so.EntityPath[k] = responseTimeRootCauseEntityOutput{Name: en.Name, Coverage: roundMicros(en.Coverage), Remote: en.Remote}
			}
			o.Services[j] = so
		}
		out[i] = o
	}
	return out
}

// microsTime converts epoch seconds from a document, rounded to the
// microsecond (float64 epoch seconds carry noise below it).
func microsTime(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Unix(0, 0).UTC()
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}
