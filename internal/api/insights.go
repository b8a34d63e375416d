package api

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/insights"
)

// The Insights operations read what package insights detects over the
// service graph of the groups with InsightsEnabled.

func renderServiceID(n graph.NodeID) serviceIDOutput {
	return serviceIDOutput{Name: n.Name, Names: []string{n.Name}, AccountId: n.AccountID, Type: n.Type}
}

type requestImpact struct {
	FaultCount, OkCount, TotalCount int64
}

type anomalousService struct {
	ServiceId serviceIDOutput
}

type insightOutput struct {
	InsightId                               string
	GroupARN                                string
	GroupName                               string
	RootCauseServiceId                      serviceIDOutput
	Categories                              []string
	State                                   string
	StartTime                               Timestamp
	EndTime                                 *Timestamp `json:",omitempty"`
	LastUpdateTime                          *Timestamp `json:",omitempty"`
	Summary                                 string
	ClientRequestImpactStatistics           requestImpact
	RootCauseServiceRequestImpactStatistics requestImpact
	TopAnomalousServices                    []anomalousService
}

func renderAnomalous(ids []graph.NodeID) []anomalousService {
	out := make([]anomalousService, len(ids))
	for i, id := range ids {
		out[i] = anomalousService{renderServiceID(id)}
	}
	return out
}

func renderInsight(in insights.Insight, summary bool) insightOutput {
	o := insightOutput{InsightId: in.ID, GroupARN: in.GroupARN, GroupName: in.GroupName, RootCauseServiceId: renderServiceID(in.RootCause),
		Categories: []string{"FAULT"}, State: in.State, StartTime: Timestamp{in.Start}, Summary: in.Summary,
		ClientRequestImpactStatistics: requestImpact(in.ClientImpact), RootCauseServiceRequestImpactStatistics: requestImpact(in.RootCauseImpact),
		TopAnomalousServices: renderAnomalous(in.TopAnomalous)}
	if !in.End.IsZero() {
		o.EndTime = &Timestamp{in.End}
	}
	if summary && !in.LastUpdate.IsZero() {
		o.LastUpdateTime = &Timestamp{in.LastUpdate}
	}
	return o
}

func (a *API) addInsightsOps(h map[string]func(context.Context, []byte) (any, error)) {
	h["GetInsightSummaries"] = a.getInsightSummaries
	h["GetInsight"] = a.getInsight
	h["GetInsightEvents"] = a.getInsightEvents
	h["GetInsightImpactGraph"] = a.getInsightImpactGraph
}

func (a *API) insight(id string) (insights.Insight, error) {
	in, ok := a.insights.Get(id)
	if !ok {
		// The model declares only InvalidRequestException for it.
		return in, invalid("Insight %q not found", id)
	}
	return in, nil
}

// pageOf slices n items by an offset token.
func pageOf(n int, token *string, size int) (from, to int, next string, err error) {
	if token != nil && *token != "" {
		if from, err = parseGraphToken(*token); err != nil || from > n {
			return 0, 0, "", invalid("NextToken %q is not a token from this operation", *token)
		}
	}
	to = n
	if to-from > size {
		to = from + size
		next = graphToken(to)
	}
	return from, to, next, nil
}

func (a *API) getInsightSummaries(ctx context.Context, body []byte) (any, error) {
	var in struct {
		States             []string
		GroupARN           *string
		GroupName          *string
		StartTime, EndTime Timestamp
		MaxResults         *int
		NextToken          *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if !in.EndTime.After(in.StartTime.Time) {
		return nil, invalid("EndTime must be after StartTime")
	}
	groupARN := ""
	if in.GroupARN != nil || in.GroupName != nil {
		g, err := a.lookupGroup(in.GroupName, in.GroupARN)
		if err != nil {
			return nil, err
		}
		groupARN = g.ARN
	}
	state := ""
	if len(in.States) == 1 {
		state = in.States[0]
	}
	list := a.insights.List(in.StartTime.Time, in.EndTime.Time, groupARN, state)
	size := 100
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	from, to, next, err := pageOf(len(list), in.NextToken, size)
	if err != nil {
		return nil, err
	}
	out := struct {
		InsightSummaries []insightOutput
		NextToken        string `json:",omitempty"`
	}{InsightSummaries: []insightOutput{}, NextToken: next}
	for _, i := range list[from:to] {
		out.InsightSummaries = append(out.InsightSummaries, renderInsight(i, true))
	}
	return out, nil
}

func (a *API) getInsight(ctx context.Context, body []byte) (any, error) {
	var in struct{ InsightId string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	i, err := a.insight(in.InsightId)
	if err != nil {
		return nil, err
	}
	return struct{ Insight insightOutput }{renderInsight(i, false)}, nil
}

type insightEventOutput struct {
	Summary                                 string
	EventTime                               Timestamp
	ClientRequestImpactStatistics           requestImpact
	RootCauseServiceRequestImpactStatistics requestImpact
	TopAnomalousServices                    []anomalousService
}

func (a *API) getInsightEvents(ctx context.Context, body []byte) (any, error) {
	var in struct {
		InsightId  string
		MaxResults *int
		NextToken  *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	i, err := a.insight(in.InsightId)
	if err != nil {
		return nil, err
	}
	size := 50
	if in.MaxResults != nil {
		size = *in.MaxResults
	}
	// Most recent first, as X-Ray lists them.
	evs := i.Events
	from, to, next, err := pageOf(len(evs), in.NextToken, size)
	if err != nil {
		return nil, err
	}
	out := struct {
		InsightEvents []insightEventOutput
		NextToken     string `json:",omitempty"`
	}{InsightEvents: []insightEventOutput{}, NextToken: next}
	for k := from; k < to; k++ {
		e := evs[len(evs)-1-k]
		out.InsightEvents = append(out.InsightEvents, insightEventOutput{Summary: e.Summary, EventTime: Timestamp{e.Time},
			ClientRequestImpactStatistics: requestImpact(e.ClientImpact), RootCauseServiceRequestImpactStatistics: requestImpact(e.RootCauseImpact),
			TopAnomalousServices: renderAnomalous(e.TopAnomalous)})
	}
	return out, nil
}

type impactGraphService struct {
	ReferenceId int32
	Type        string `json:",omitempty"`
	Name        string
	Names       []string
	AccountId   string `json:",omitempty"`
	Edges       []struct{ ReferenceId int32 }
}

func (a *API) getInsightImpactGraph(ctx context.Context, body []byte) (any, error) {
	var in struct {
		InsightId          string
		StartTime, EndTime Timestamp
		NextToken          *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	i, err := a.insight(in.InsightId)
	if err != nil {
		return nil, err
	}
	if !in.EndTime.After(in.StartTime.Time) {
		return nil, invalid("EndTime must be after StartTime")
	}
	if in.EndTime.Sub(in.StartTime.Time) > maxGraphWindow {
		return nil, invalid("The time range between StartTime and EndTime must be at most 24 hours")
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken is not valid: the impact graph is returned in one page")
	}
	// The graph of the group around the insight: the window asked,
	// rounded out to the minutes the counters keep.
	fromMin := int64(math.Floor(float64(in.StartTime.Unix()) / 60))
	toMin := int64(math.Ceil(float64(in.EndTime.UnixNano()) / 60e9))
	var agg graph.Aggregator
	for row, err := range a.graph.GraphCounters(ctx, i.Group, fromMin, max(toMin, fromMin+1)) {
		if err != nil {
			return nil, fmt.Errorf("read service graph counters: %w", err)
		}
		agg.Add(row)
	}
	svcs := agg.Services(float64(fromMin*60), float64(toMin*60))
	out := struct {
		InsightId                                  string
		StartTime, EndTime                         Timestamp
		ServiceGraphStartTime, ServiceGraphEndTime Timestamp
		Services                                   []impactGraphService
	}{InsightId: i.ID, StartTime: in.StartTime, EndTime: in.EndTime,
		ServiceGraphStartTime: Timestamp{time.Unix(fromMin*60, 0).UTC()}, ServiceGraphEndTime: Timestamp{time.Unix(toMin*60, 0).UTC()},
		Services: []impactGraphService{}}
	for _, s := range svcs {
		is := impactGraphService{ReferenceId: s.ReferenceID, Type: s.Type, Name: s.Name, Names: names(s.Name, s.Names), AccountId: s.AccountID,
			Edges: []struct{ ReferenceId int32 }{}}
		for _, e := range s.Edges {
			is.Edges = append(is.Edges, struct{ ReferenceId int32 }{e.ReferenceID})
		}
		out.Services = append(out.Services, is)
	}
	return out, nil
}

// EvaluateInsights runs detection over every group with Insights on at
// now (the minutes before now's minute are complete), as RunInsights does
// once a minute.
func (a *API) EvaluateInsights(ctx context.Context, now time.Time) error {
	return a.insights.Evaluate(ctx, now)
}
