package api

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Sampling: the SDKs ask the daemon address for rules at start-up and for
// reservoir quotas every 10 seconds. Counterspy serves one Default rule whose
// fixed rate is configurable (a local tracing tool should normally see every
// request, unlike X-Ray's 1/s + 5 % default).

type samplingRule struct {
	RuleName      string
	RuleARN       string
	ResourceARN   string
	Priority      int
	FixedRate     float64
	ReservoirSize int
	ServiceName   string
	ServiceType   string
	Host          string
	HTTPMethod    string
	URLPath       string
	Version       int
	// Attributes must be present and empty: the Node SDK ignores rules
	// without it.
	Attributes map[string]string
}

type samplingRuleRecord struct {
	SamplingRule samplingRule
	CreatedAt    Timestamp
	ModifiedAt   Timestamp
}

type getSamplingRulesOutput struct {
	SamplingRuleRecords []samplingRuleRecord
}

func (a *API) defaultRule() samplingRule {
	return samplingRule{
		RuleName: "Default", RuleARN: fmt.Sprintf("arn:aws:xray:%s:%s:sampling-rule/Default", a.opts.Region, a.opts.AccountID),
		ResourceARN: "*", Priority: 10000, FixedRate: a.opts.SamplingRate, ReservoirSize: a.opts.SamplingReservoir,
		ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", Version: 1,
		Attributes: map[string]string{},
	}
}

func (a *API) getSamplingRules(ctx context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	epoch := Timestamp{time.Unix(0, 0).UTC()}
	return getSamplingRulesOutput{SamplingRuleRecords: []samplingRuleRecord{{
		SamplingRule: a.defaultRule(), CreatedAt: epoch, ModifiedAt: epoch,
	}}}, nil
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
}

type unprocessedStatistics struct {
	RuleName  string
	ErrorCode string
	Message   string
}

type getSamplingTargetsOutput struct {
	SamplingTargetDocuments []samplingTargetDocument
	LastRuleModification    Timestamp
	UnprocessedStatistics   []unprocessedStatistics
}

// reservoir splits a rule's per-second reservoir among the clients that
// reported recently, in proportion to their request rates.
type reservoir struct {
	mu      sync.Mutex
	clients map[string]clientRate
}

type clientRate struct {
	requests float64
	seen     time.Time
}

func (a *API) getSamplingTargets(ctx context.Context, body []byte) (any, error) {
	var in struct{ SamplingStatisticsDocuments []samplingStatisticsDocument }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if len(in.SamplingStatisticsDocuments) > 25 {
		return nil, invalid("SamplingStatisticsDocuments: at most 25 documents per call, got %d", len(in.SamplingStatisticsDocuments))
	}
	now := a.opts.Now()
	out := getSamplingTargetsOutput{
		SamplingTargetDocuments: []samplingTargetDocument{},
		LastRuleModification:    Timestamp{time.Unix(0, 0).UTC()},
		UnprocessedStatistics:   []unprocessedStatistics{},
	}
	rule := a.defaultRule()
	a.sampling.mu.Lock()
	defer a.sampling.mu.Unlock()
	if a.sampling.clients == nil {
		a.sampling.clients = map[string]clientRate{}
	}
	for _, d := range in.SamplingStatisticsDocuments {
		if d.RuleName != rule.RuleName {
			out.UnprocessedStatistics = append(out.UnprocessedStatistics, unprocessedStatistics{
				RuleName: d.RuleName, ErrorCode: "400", Message: fmt.Sprintf("unknown sampling rule %q", d.RuleName)})
			continue
		}
		a.sampling.clients[d.ClientID] = clientRate{requests: float64(d.RequestCount), seen: now}
	}
	var total float64
	for id, c := range a.sampling.clients {
		if now.Sub(c.seen) > 30*time.Second {
			delete(a.sampling.clients, id)
			continue
		}
		total += c.requests
	}
	for _, d := range in.SamplingStatisticsDocuments {
		c, ok := a.sampling.clients[d.ClientID]
		if !ok || d.RuleName != rule.RuleName {
			continue
		}
		quota := rule.ReservoirSize
		if total > 0 {
			quota = int(float64(rule.ReservoirSize) * c.requests / total)
		}
		out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, samplingTargetDocument{
			RuleName: rule.RuleName, FixedRate: rule.FixedRate, ReservoirQuota: quota,
			ReservoirQuotaTTL: Timestamp{now.Add(5 * time.Minute)}, Interval: 10,
		})
	}
	return out, nil
}
