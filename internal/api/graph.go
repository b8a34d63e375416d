package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// The service graph operations: GetServiceGraph and
// GetTimeSeriesServiceStatistics read the per-minute counters the
// summarizer keeps (package graph); GetTraceGraph builds the graph of a
// few traces from their summaries.

// maxGraphWindow is the longest window a graph query accepts. AWS documents
// no limit for GetServiceGraph (the console's deep links take at most 6
// hours: https://docs.aws.amazon.com/xray/latest/devguide/xray-console-deeplinks.html);
// a day is our choice.
const maxGraphWindow = 24 * time.Hour

// graphPageSize is how many services one GetServiceGraph page holds.
var graphPageSize = 1000

type getServiceGraphInput struct {
	StartTime *Timestamp
	EndTime   *Timestamp
	GroupName *string
	GroupARN  *string
	NextToken *string
}

type serviceGraphOutput struct {
	StartTime                Timestamp
	EndTime                  Timestamp
	Services                 []serviceOutput
	ContainsOldGroupVersions bool
	NextToken                string `json:",omitempty"`
}

type getTraceGraphInput struct {
	TraceIds  *[]string
	NextToken *string
}

type traceGraphOutput struct {
	Services []serviceOutput
}

type getTimeSeriesInput struct {
	StartTime                *Timestamp
	EndTime                  *Timestamp
	GroupName                *string
	GroupARN                 *string
	EntitySelectorExpression *string
	Period                   *int64
	ForecastStatistics       *bool
	NextToken                *string
}

type timeSeriesOutput struct {
	TimeSeriesServiceStatistics []timeSeriesEntryOutput
	ContainsOldGroupVersions    bool
}

type timeSeriesEntryOutput struct {
	Timestamp                 Timestamp
	EdgeSummaryStatistics     *statisticsOutput `json:",omitempty"`
	ServiceSummaryStatistics  *statisticsOutput `json:",omitempty"`
	ServiceForecastStatistics *forecastOutput   `json:",omitempty"`
	ResponseTimeHistogram     []histogramEntryOutput
}

// forecastOutput is X-Ray's ForecastStatistics: the band of fault counts
// expected in the period (graph.Forecast).
type forecastOutput struct {
	FaultCountHigh, FaultCountLow int64
}

// serviceOutput is X-Ray's Service. Lists are always present.
type serviceOutput struct {
	ReferenceId           int32
	Name                  string
	Names                 []string
	Root                  bool   `json:",omitempty"`
	AccountId             string `json:",omitempty"`
	Type                  string `json:",omitempty"`
	State                 string
	StartTime             *Timestamp `json:",omitempty"`
	EndTime               *Timestamp `json:",omitempty"`
	Edges                 []edgeOutput
	SummaryStatistics     *statisticsOutput `json:",omitempty"`
	DurationHistogram     []histogramEntryOutput
	ResponseTimeHistogram []histogramEntryOutput
}

type edgeOutput struct {
	ReferenceId           int32
	StartTime             *Timestamp `json:",omitempty"`
	EndTime               *Timestamp `json:",omitempty"`
	SummaryStatistics     statisticsOutput
	ResponseTimeHistogram []histogramEntryOutput
	Aliases               []aliasOutput
	EdgeType              string `json:",omitempty"`
	// ReceivedEventAgeHistogram is only on link edges (X-Ray: "Only
	// populated when EdgeType is 'link'").
	ReceivedEventAgeHistogram []histogramEntryOutput `json:",omitempty"`
}

type aliasOutput struct {
	Name  string
	Names []string
	Type  string `json:",omitempty"`
}

// statisticsOutput is X-Ray's ServiceStatistics and EdgeStatistics (the
// same members).
type statisticsOutput struct {
	OkCount           int64
	ErrorStatistics   errorStatisticsOutput
	FaultStatistics   faultStatisticsOutput
	TotalCount        int64
	TotalResponseTime float64
}

type errorStatisticsOutput struct {
	ThrottleCount, OtherCount, TotalCount int64
}

type faultStatisticsOutput struct {
	OtherCount, TotalCount int64
}

type histogramEntryOutput struct {
	Value float64
	Count int32
}

func (a *API) getServiceGraph(ctx context.Context, body []byte) (any, error) {
	var in getServiceGraphInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	from, to, err := graphWindow(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	grp, err := a.graphGroup(in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	offset := 0
	if in.NextToken != nil && *in.NextToken != "" {
		if offset, err = parseGraphToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	// The exact window: whole minutes from the counters, parts of minutes
	// from the traces (graph_window.go).
	var agg graph.Aggregator
	start, end := float64(from.UnixNano())/1e9, float64(to.UnixNano())/1e9
	if err := a.windowRows(ctx, grp, start, end, &agg); err != nil {
		return nil, err
	}
	if agg.Unreadable > 0 {
		a.log.Warn("service graph counters with unreadable keys were skipped", "rows", agg.Unreadable)
	}
	svcs := agg.Services(start, end)
	out := serviceGraphOutput{StartTime: Timestamp{from.UTC()}, EndTime: Timestamp{to.UTC()}, Services: []serviceOutput{},
		ContainsOldGroupVersions: grp.changedWithin(from, to)}
	if offset > len(svcs) {
		return nil, invalid("NextToken is not valid for this service graph")
	}
	page := svcs[offset:]
	if len(page) > graphPageSize {
		page = page[:graphPageSize]
		out.NextToken = graphToken(offset + graphPageSize)
	}
	for i := range page {
		out.Services = append(out.Services, renderService(&page[i]))
	}
	return out, nil
}

func (a *API) getTraceGraph(ctx context.Context, body []byte) (any, error) {
	var in getTraceGraphInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.TraceIds == nil {
		return nil, invalid("TraceIds is required")
	}
	if len(*in.TraceIds) > maxBatchGetTraces {
		return nil, invalid("Exceeding maximum query size: %d", maxBatchGetTraces)
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken is not valid: a trace graph is returned in one page")
	}
	ids := make([]xrayid.TraceID, 0, len(*in.TraceIds))
	for _, s := range *in.TraceIds {
		id, err := xrayid.ParseTraceID(s)
		if err != nil {
			return nil, invalid("TraceIds: %q is not a trace ID: %v", s, err)
		}
		ids = append(ids, id)
	}
	var sums []*summary.Summary
	for row, err := range a.summaries.Summaries(ctx, ids) {
		if err != nil {
			return nil, fmt.Errorf("read trace summaries: %w", err)
		}
		s := new(summary.Summary)
		if err := s.UnmarshalBinary(row.Summary); err != nil {
			a.log.Warn("cannot decode trace summary; trace left out of the trace graph", "trace_id", row.TraceID.String(), "err", err)
			continue
		}
		sums = append(sums, s)
	}
	svcs := graph.TraceGraph(sums)
	out := traceGraphOutput{Services: make([]serviceOutput, len(svcs))}
	for i := range svcs {
		out.Services[i] = renderService(&svcs[i])
	}
	return out, nil
}

func (a *API) getTimeSeriesServiceStatistics(ctx context.Context, body []byte) (any, error) {
	var in getTimeSeriesInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	from, to, err := graphWindow(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	grp, err := a.graphGroup(in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	period := int64(60)
	if in.Period != nil {
		period = *in.Period
		if period <= 0 || period%60 != 0 {
			return nil, invalid("Period %d: want a positive multiple of 60 seconds", period)
		}
	}
	sel := graph.ClientEdges
	edges := true
	if in.EntitySelectorExpression != nil && strings.TrimSpace(*in.EntitySelectorExpression) != "" {
		expr := *in.EntitySelectorExpression
		if len(expr) > 500 {
			return nil, invalid("EntitySelectorExpression is longer than 500 characters")
		}
		es, err := filter.ParseEntitySelector(expr)
		if err != nil {
			return nil, invalid("EntitySelectorExpression: %v", err)
		}
		sel = graph.Selector{Edges: es.Edge, Node: es.MatchNode, Edge: es.MatchEdge}
		edges = es.Edge
	}
	forecast := in.ForecastStatistics != nil && *in.ForecastStatistics
	if forecast {
		if in.EntitySelectorExpression == nil || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(*in.EntitySelectorExpression)), "id(") {
			return nil, invalid("Forecast enabled requests require the EntitySelectorExpression ID be provided")
		}
	}
	fromMin, toMin := minutes(from, to)
	readFrom := fromMin
	if forecast {
		// The forecast of each period uses the hour before it.
		readFrom -= graph.ForecastLookback / 60
	}
	series := graph.NewSeries(sel, period)
	for row, err := range a.graph.GraphCounters(ctx, grp.counters, readFrom, toMin) {
		if err != nil {
			return nil, fmt.Errorf("read service graph counters: %w", err)
		}
		series.Add(row)
	}
	out := timeSeriesOutput{TimeSeriesServiceStatistics: []timeSeriesEntryOutput{}, ContainsOldGroupVersions: grp.changedWithin(from, to)}
	points := series.Points()
	for _, p := range points {
		if p.Start+period <= fromMin*60 {
			continue // history for the forecasts only
		}
		st := renderStats(p.Stats)
		e := timeSeriesEntryOutput{Timestamp: seconds(float64(p.Start)), ResponseTimeHistogram: renderHistogram(p.ResponseTimeHistogram)}
		if forecast {
			lo, hi := graph.Forecast(points, p.Start, period)
			e.ServiceForecastStatistics = &forecastOutput{FaultCountHigh: hi, FaultCountLow: lo}
		}
		if edges {
			e.EdgeSummaryStatistics = &st
		} else {
			e.ServiceSummaryStatistics = &st
		}
		out.TimeSeriesServiceStatistics = append(out.TimeSeriesServiceStatistics, e)
	}
	return out, nil
}

// graphWindow validates a graph query's window.
func graphWindow(start, end *Timestamp) (from, to time.Time, err error) {
	if start == nil || start.IsZero() {
		return from, to, invalid("StartTime is required")
	}
	if end == nil || end.IsZero() {
		return from, to, invalid("EndTime is required")
	}
	from, to = start.Time, end.Time
	if !to.After(from) {
		return from, to, invalid("EndTime (%s) must be after StartTime (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if to.Sub(from) > maxGraphWindow {
		return from, to, invalid("The time range between StartTime and EndTime must be at most 24 hours, not %s", to.Sub(from))
	}
	return from, to, nil
}

// minutes is the range of counter minutes covering [from, to).
func minutes(from, to time.Time) (int64, int64) {
	f := from.Unix() / 60
	if from.Unix() < 0 {
		f = int64(math.Floor(float64(from.Unix()) / 60))
	}
	t := int64(math.Ceil(float64(to.UnixNano()) / 60e9))
	return f, max(t, f+1)
}

// graphGroup is the group a graph query reads.
type graphGroup struct {
	counters string // the counter group: "" for Default, else the group's ID
	group    *groups.Group
}

func (g graphGroup) changedWithin(from, to time.Time) bool {
	return g.group != nil && g.group.ChangedWithin(from, to)
}

// graphGroup resolves GroupName/GroupARN (Default when neither is given).
func (a *API) graphGroup(name, arn *string) (graphGroup, error) {
	n, r := "", ""
	if name != nil {
		n = *name
	}
	if arn != nil {
		r = *arn
	}
	ref := n
	if r != "" {
		ref = r
	}
	if ref == "" || ref == groups.DefaultName {
		return graphGroup{}, nil
	}
	if a.opts.Registry == nil {
		return graphGroup{}, invalid("Group not found: %q", ref)
	}
	g, err := a.opts.Registry.Get(ref)
	if err != nil {
		return graphGroup{}, groupError(err)
	}
	if n != "" && r != "" && g.Name != n {
		return graphGroup{}, invalid("GroupName %q and GroupARN %q name different groups", n, r)
	}
	return graphGroup{counters: g.ID, group: &g}, nil
}

func graphToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sg1:" + strconv.Itoa(offset)))
}

func parseGraphToken(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	s, ok := strings.CutPrefix(string(b), "sg1:")
	n, aerr := strconv.Atoi(s)
	if err != nil || !ok || aerr != nil || n < 0 {
		return 0, invalid("NextToken %q is not a token from GetServiceGraph", tok)
	}
	return n, nil
}

func renderService(s *graph.Service) serviceOutput {
	o := serviceOutput{ReferenceId: s.ReferenceID, Name: s.Name, Names: names(s.Name, s.Names), Root: s.Root,
		AccountId: s.AccountID, Type: s.Type, State: s.State, Edges: make([]edgeOutput, 0, len(s.Edges)),
		DurationHistogram: renderHistogram(s.DurationHistogram), ResponseTimeHistogram: renderHistogram(s.ResponseTimeHistogram)}
	o.StartTime, o.EndTime = times(s.Start, s.End)
	if s.Stats != nil {
		st := renderStats(*s.Stats)
		o.SummaryStatistics = &st
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		eo := edgeOutput{ReferenceId: e.ReferenceID, SummaryStatistics: renderStats(e.Stats),
			ResponseTimeHistogram: renderHistogram(e.ResponseTimeHistogram), Aliases: make([]aliasOutput, len(e.Aliases))}
		eo.StartTime, eo.EndTime = times(e.Start, e.End)
		for k, al := range e.Aliases {
			eo.Aliases[k] = aliasOutput{Name: al.Name, Names: names(al.Name, al.Names), Type: al.Type}
		}
		if e.Link {
			eo.EdgeType = "link"
			eo.ReceivedEventAgeHistogram = renderHistogram(e.ReceivedEventAgeHistogram)
		}
		o.Edges = append(o.Edges, eo)
	}
	return o
}

func times(start, end float64) (*Timestamp, *Timestamp) {
	if start == 0 && end == 0 {
		return nil, nil
	}
	s, e := Timestamp{microsTime(start)}, Timestamp{microsTime(end)}
	return &s, &e
}

func renderStats(s graph.Stats) statisticsOutput {
	return statisticsOutput{
		OkCount:           s.OK,
		ErrorStatistics:   errorStatisticsOutput{ThrottleCount: s.Throttle, OtherCount: s.ErrorOther, TotalCount: s.Errors()},
		FaultStatistics:   faultStatisticsOutput{OtherCount: s.Fault, TotalCount: s.Fault},
		TotalCount:        s.Total(),
		TotalResponseTime: roundMicros(s.ResponseTime),
	}
}

func renderHistogram(h []graph.HistogramEntry) []histogramEntryOutput {
	out := make([]histogramEntryOutput, len(h))
	for i, e := range h {
		out[i] = histogramEntryOutput{Value: roundMicros(e.Value), Count: int32(min(e.Count, math.MaxInt32))}
	}
	return out
}
