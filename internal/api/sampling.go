package api

import (
	"context"
	"errors"
	"time"

	"github.com/counterspy/counterspy/internal/sampling"
)

// The sampling operations: rules (persisted; package sampling), the
// targets SDKs poll every 10 seconds over the daemon address, and the
// statistics they report.

type samplingRule struct {
	RuleName          string
	RuleARN           string
	ResourceARN       string
	Priority          int
	FixedRate         float64
	ReservoirSize     int
	ServiceName       string
	ServiceType       string
	Host              string
	HTTPMethod        string
	URLPath           string
	Version           int
	SamplingRateBoost *samplingBoost `json:",omitempty"`
	// Attributes must be present, even empty: the Node SDK ignores rules
	// without it.
	Attributes map[string]string
}

type samplingBoost struct {
	MaxRate               float64
	CooldownWindowMinutes int
}

// boost is the stored form of a request's SamplingRateBoost (nil: none).
func (b *samplingBoost) boost() *sampling.Boost {
	if b == nil {
		return nil
	}
	return &sampling.Boost{MaxRate: b.MaxRate, CooldownWindowMinutes: b.CooldownWindowMinutes}
}

type samplingRuleRecord struct {
	SamplingRule samplingRule
	CreatedAt    Timestamp
	ModifiedAt   Timestamp
}

func renderRule(r sampling.Rule) samplingRuleRecord {
	out := samplingRuleRecord{SamplingRule: samplingRule{RuleName: r.Name, RuleARN: r.ARN, ResourceARN: r.ResourceARN,
		Priority: r.Priority, FixedRate: r.FixedRate, ReservoirSize: r.ReservoirSize, ServiceName: r.ServiceName,
		ServiceType: r.ServiceType, Host: r.Host, HTTPMethod: r.HTTPMethod, URLPath: r.URLPath, Version: r.Version,
		Attributes: r.Attributes}, CreatedAt: Timestamp{r.CreatedAt}, ModifiedAt: Timestamp{r.ModifiedAt}}
	if out.SamplingRule.Attributes == nil {
		out.SamplingRule.Attributes = map[string]string{}
	}
	if r.Boost != nil {
		out.SamplingRule.SamplingRateBoost = &samplingBoost{r.Boost.MaxRate, r.Boost.CooldownWindowMinutes}
	}
	return out
}

func (a *API) addSamplingOps(h map[string]func(context.Context, []byte) (any, error)) {
	h["GetSamplingRules"] = a.getSamplingRules
	h["GetSamplingTargets"] = a.getSamplingTargets
	h["CreateSamplingRule"] = a.createSamplingRule
	h["UpdateSamplingRule"] = a.updateSamplingRule
	h["DeleteSamplingRule"] = a.deleteSamplingRule
	h["GetSamplingStatisticSummaries"] = a.getSamplingStatisticSummaries
}

func samplingError(err error) error {
	var se *sampling.Error
	if errors.As(err, &se) {
		if se.Limit {
			return &Error{Status: 400, Code: "RuleLimitExceededException", Message: se.Msg}
		}
		return invalid("%s", se.Msg)
	}
	return err
}

type getSamplingRulesOutput struct {
	SamplingRuleRecords []samplingRuleRecord
	NextToken           string `json:",omitempty"`
}

func (a *API) getSamplingRules(ctx context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken %q is not a token from GetSamplingRules: the rules fit in one page", *in.NextToken)
	}
	out := getSamplingRulesOutput{SamplingRuleRecords: []samplingRuleRecord{}}
	for _, r := range a.rules.List() {
		out.SamplingRuleRecords = append(out.SamplingRuleRecords, renderRule(r))
	}
	return out, nil
}

type createSamplingRuleInput struct {
	SamplingRule samplingRule
	Tags         []tagInput
}

type samplingRuleRecordResult struct {
	SamplingRuleRecord samplingRuleRecord
}

func (a *API) createSamplingRule(ctx context.Context, body []byte) (any, error) {
	var in createSamplingRuleInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	s := in.SamplingRule
	rule := sampling.Rule{Name: s.RuleName, ResourceARN: s.ResourceARN, Priority: s.Priority, FixedRate: s.FixedRate,
		ReservoirSize: s.ReservoirSize, ServiceName: s.ServiceName, ServiceType: s.ServiceType, Host: s.Host,
		HTTPMethod: s.HTTPMethod, URLPath: s.URLPath, Version: s.Version, Attributes: s.Attributes,
		Boost: s.SamplingRateBoost.boost()}
	created, err := a.rules.Create(ctx, rule)
	if err != nil {
		return nil, samplingError(err)
	}
	if len(tags) > 0 {
		if err := a.putTags(ctx, created.ARN, tags); err != nil {
			return nil, err
		}
	}
	return samplingRuleRecordResult{renderRule(created)}, nil
}

type updateSamplingRuleInput struct {
	SamplingRuleUpdate struct {
		RuleName, RuleARN                                                *string
		ResourceARN, ServiceName, ServiceType, Host, HTTPMethod, URLPath *string
		Priority, ReservoirSize                                          *int
		FixedRate                                                        *float64
		Attributes                                                       map[string]string
		SamplingRateBoost                                                *samplingBoost
	}
}

func (a *API) updateSamplingRule(ctx context.Context, body []byte) (any, error) {
	var in updateSamplingRuleInput
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	u := in.SamplingRuleUpdate
	ref, err := ruleRef(u.RuleName, u.RuleARN)
	if err != nil {
		return nil, err
	}
	up := sampling.Update{ResourceARN: u.ResourceARN, ServiceName: u.ServiceName, ServiceType: u.ServiceType, Host: u.Host,
		HTTPMethod: u.HTTPMethod, URLPath: u.URLPath, Priority: u.Priority, ReservoirSize: u.ReservoirSize, FixedRate: u.FixedRate,
		Attributes: u.Attributes, Boost: u.SamplingRateBoost.boost()}
	rule, err := a.rules.Update(ctx, ref, up)
	if err != nil {
		return nil, samplingError(err)
	}
	return samplingRuleRecordResult{renderRule(rule)}, nil
}

// ruleRef is the rule a request names by RuleName or RuleARN.
func ruleRef(name, arn *string) (string, error) {
	switch {
	case arn != nil && *arn != "":
		if name != nil && *name != "" && !hasSuffix(*arn, "/"+*name) {
			return "", invalid("RuleName %q and RuleARN %q name different rules", *name, *arn)
		}
		return *arn, nil
	case name != nil && *name != "":
		return *name, nil
	}
	return "", invalid("RuleName or RuleARN is required")
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

func (a *API) deleteSamplingRule(ctx context.Context, body []byte) (any, error) {
	var in struct{ RuleName, RuleARN *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ref, err := ruleRef(in.RuleName, in.RuleARN)
	if err != nil {
		return nil, err
	}
	rule, err := a.rules.Delete(ctx, ref)
	if err != nil {
		return nil, samplingError(err)
	}
	if err := a.deleteTags(ctx, rule.ARN); err != nil {
		return nil, err
	}
	return samplingRuleRecordResult{renderRule(rule)}, nil
}

type samplingStatisticsDocument struct {
	RuleName     string
	ClientID     string
	Timestamp    Timestamp
	RequestCount int64
	SampledCount int64
	BorrowCount  int64
}

type samplingTargetDocument struct {
	RuleName          string
	FixedRate         float64
	ReservoirQuota    int
	ReservoirQuotaTTL Timestamp
	Interval          int
	SamplingBoost     *samplingBoostOutput `json:",omitempty"`
}

type samplingBoostOutput struct {
	BoostRate    float64
	BoostRateTTL Timestamp
}

type unprocessedStatistics struct {
	RuleName  string
	ErrorCode string
	Message   string
}

type getSamplingTargetsOutput struct {
	SamplingTargetDocuments    []samplingTargetDocument
	LastRuleModification       Timestamp
	UnprocessedStatistics      []unprocessedStatistics
	UnprocessedBoostStatistics []unprocessedStatistics
}

func (a *API) getSamplingTargets(ctx context.Context, body []byte) (any, error) {
	var in struct {
		SamplingStatisticsDocuments      []samplingStatisticsDocument
		SamplingBoostStatisticsDocuments []struct {
			RuleName, ServiceName                         string
			Timestamp                                     Timestamp
			AnomalyCount, TotalCount, SampledAnomalyCount int64
		}
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	docs := make([]sampling.Statistics, len(in.SamplingStatisticsDocuments))
	for i, d := range in.SamplingStatisticsDocuments {
		docs[i] = sampling.Statistics{RuleName: d.RuleName, ClientID: d.ClientID, Timestamp: d.Timestamp.Time,
			RequestCount: d.RequestCount, SampledCount: d.SampledCount, BorrowCount: d.BorrowCount}
	}
	boosts := make([]sampling.BoostStatistics, len(in.SamplingBoostStatisticsDocuments))
	for i, d := range in.SamplingBoostStatisticsDocuments {
		boosts[i] = sampling.BoostStatistics{RuleName: d.RuleName, ServiceName: d.ServiceName, Timestamp: d.Timestamp.Time,
			AnomalyCount: d.AnomalyCount, TotalCount: d.TotalCount, SampledAnomalyCount: d.SampledAnomalyCount}
	}
	unprocBoost := a.rules.ReportBoosts(boosts)
	targets, unproc := a.rules.Targets(docs)
	out := getSamplingTargetsOutput{SamplingTargetDocuments: []samplingTargetDocument{},
		LastRuleModification: Timestamp{a.rules.LastModification()}, UnprocessedStatistics: []unprocessedStatistics{},
		UnprocessedBoostStatistics: []unprocessedStatistics{}}
	if out.LastRuleModification.IsZero() {
		out.LastRuleModification = Timestamp{time.Unix(0, 0).UTC()}
	}
	for _, t := range targets {
		d := samplingTargetDocument{RuleName: t.RuleName,
			FixedRate: t.FixedRate, ReservoirQuota: t.Quota, ReservoirQuotaTTL: Timestamp{t.QuotaTTL}, Interval: int(t.Interval / time.Second)}
		if t.Boost != nil {
			d.SamplingBoost = &samplingBoostOutput{BoostRate: t.Boost.Rate, BoostRateTTL: Timestamp{t.Boost.Until}}
		}
		out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, d)
	}
	for _, u := range unprocBoost {
		out.UnprocessedBoostStatistics = append(out.UnprocessedBoostStatistics, unprocessedStatistics(u))
	}
	for _, u := range unproc {
		out.UnprocessedStatistics = append(out.UnprocessedStatistics, unprocessedStatistics(u))
	}
	return out, nil
}

type samplingStatisticSummary struct {
	RuleName     string
	Timestamp    Timestamp
	RequestCount int64
	BorrowCount  int64
	SampledCount int64
}

func (a *API) getSamplingStatisticSummaries(ctx context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken %q is not a token from GetSamplingStatisticSummaries", *in.NextToken)
	}
	out := struct{ SamplingStatisticSummaries []samplingStatisticSummary }{[]samplingStatisticSummary{}}
	for _, s := range a.rules.Summaries() {
		out.SamplingStatisticSummaries = append(out.SamplingStatisticSummaries, samplingStatisticSummary{RuleName: s.RuleName,
			Timestamp: Timestamp{s.Timestamp}, RequestCount: s.RequestCount, BorrowCount: s.BorrowCount, SampledCount: s.SampledCount})
	}
	return out, nil
}
