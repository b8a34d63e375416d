package sampling

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Statistics is one SDK client's report for one rule over its last
// interval (X-Ray's SamplingStatisticsDocument).
type Statistics struct {
	RuleName, ClientID                      string
	Timestamp                               time.Time
	RequestCount, SampledCount, BorrowCount int64
}

// Target is what a client should apply for a rule until QuotaTTL (X-Ray's
// SamplingTargetDocument).
type Target struct {
	RuleName  string
	FixedRate float64
	// Quota is the client's share of the rule's reservoir per second.
	Quota    int
	QuotaTTL time.Time
	Interval time.Duration
	// Boost is set while the rule's sampling is boosted.
	Boost *ActiveBoost
}

// ActiveBoost is a boost in force (X-Ray's SamplingBoost).
type ActiveBoost struct {
	Rate  float64
	Until time.Time
}

// BoostStatistics is a client's report of anomalies for a rule with a
// SamplingRateBoost (X-Ray's SamplingBoostStatisticsDocument).
type BoostStatistics struct {
	RuleName, ServiceName                         string
	Timestamp                                     time.Time
	AnomalyCount, TotalCount, SampledAnomalyCount int64
}

// Unprocessed is a report that could not be used.
type Unprocessed struct {
	RuleName, ErrorCode, Message string
}

// Summary is one rule's statistics in one window (X-Ray's
// SamplingStatisticSummary).
type Summary struct {
	RuleName                                string
	Timestamp                               time.Time
	RequestCount, SampledCount, BorrowCount int64
}

// quotaTTL is how long a quota holds: longer than one reporting interval,
// so a client's next report arrives before its quota lapses (a lapsed
// quota makes the SDKs borrow one request a second instead).
const quotaTTL = Interval + Interval/2

// clientGone is how long a client that stopped reporting still holds its
// share of a reservoir.
const clientGone = 3 * Interval

// windowKeep is how many 10-second windows of statistics a rule keeps.
const windowKeep = 60

// reservoir is a rule's clients and their recent request counts.
type reservoir struct {
	clients map[string]client
}

type client struct {
	requests int64
	seen     time.Time
}

// windowStats are a rule's statistics by window start (Unix seconds,
// a multiple of 10).
type windowStats struct {
	windows map[int64]*Summary
}

// Targets takes the clients' reports and returns each reporting client's
// targets: the reservoir of every reported rule is shared out among the
// rule's active clients in proportion to the requests each reported (by
// largest remainder, so the quotas add up to ReservoirSize exactly; a
// client alone gets all of it), and the rule's FixedRate.
func (r *Rules) Targets(docs []Statistics) ([]Target, []Unprocessed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	var unproc []Unprocessed
	type want struct{ rule, client string }
	var wants []want
	for _, d := range docs {
		rule := r.rules[d.RuleName]
		if rule == nil {
			unproc = append(unproc, Unprocessed{RuleName: d.RuleName, ErrorCode: "400", Message: "Sampling rule " + d.RuleName + " does not exist"})
			continue
		}
		if d.RequestCount < 0 || d.SampledCount < 0 || d.BorrowCount < 0 || d.SampledCount > d.RequestCount {
			unproc = append(unproc, Unprocessed{RuleName: d.RuleName, ErrorCode: "400", Message: "counts must be non-negative, SampledCount at most RequestCount"})
			continue
		}
		res := r.res[rule.Name]
		if res == nil {
			res = &reservoir{clients: map[string]client{}}
			r.res[rule.Name] = res
		}
		res.clients[d.ClientID] = client{requests: d.RequestCount, seen: now}
		r.record(rule.Name, d)
		wants = append(wants, want{rule.Name, d.ClientID})
	}
	var out []Target
	for _, w := range wants {
		var boost *ActiveBoost
		if b := r.boosts[w.rule]; b != nil && now.Before(b.Until) {
			c := *b
			boost = &c
		}
		if slices.ContainsFunc(out, func(t Target) bool { return t.RuleName == w.rule }) {
			continue // one client reporting twice for a rule: one target
		}
		rule := r.rules[w.rule]
		quotas := r.res[w.rule].share(rule.ReservoirSize, now)
		out = append(out, Target{RuleName: rule.Name, FixedRate: rule.FixedRate, Quota: quotas[w.client],
			QuotaTTL: now.Add(quotaTTL), Interval: Interval, Boost: boost})
	}
	return out, unproc
}

// ReportBoosts takes clients' anomaly reports. For a rule with a
// SamplingRateBoost, reported anomalies start a boost: the rule's rate is
// raised to MaxRate for the cooldown window, and no other boost starts
// until the window is over (AWS X-Ray developer guide, adaptive sampling:
// "only one sampling rate boost can be triggered" per CooldownWindowMinutes;
// a window of 0 is taken as one minute). Targets carry the boost while it
// lasts. Reports for unknown rules, or rules without a boost, come back
// unprocessed.
func (r *Rules) ReportBoosts(docs []BoostStatistics) []Unprocessed {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	var unproc []Unprocessed
	for _, d := range docs {
		rule := r.rules[d.RuleName]
		switch {
		case rule == nil:
			unproc = append(unproc, Unprocessed{RuleName: d.RuleName, ErrorCode: "400", Message: "Sampling rule " + d.RuleName + " does not exist"})
			continue
		case rule.Boost == nil:
			unproc = append(unproc, Unprocessed{RuleName: d.RuleName, ErrorCode: "400", Message: "Sampling rule " + d.RuleName + " has no SamplingRateBoost"})
			continue
		case d.AnomalyCount <= 0:
			continue
		}
		window := time.Duration(max(rule.Boost.CooldownWindowMinutes, 1)) * time.Minute
		if last, ok := r.boostStart[rule.Name]; ok && now.Sub(last) < window {
			continue // one boost per cooldown window
		}
		r.boostStart[rule.Name] = now
		r.boosts[rule.Name] = &ActiveBoost{Rate: max(rule.Boost.MaxRate, rule.FixedRate), Until: now.Add(window)}
	}
	return unproc
}

// share divides size among the active clients by their request counts.
func (res *reservoir) share(size int, now time.Time) map[string]int {
	type c struct {
		id   string
		reqs int64
	}
	var active []c
	var total int64
	for id, cl := range res.clients {
		if now.Sub(cl.seen) > clientGone {
			delete(res.clients, id)
			continue
		}
		active = append(active, c{id, cl.requests})
		total += cl.requests
	}
	sort.Slice(active, func(i, j int) bool { return active[i].id < active[j].id })
	out := make(map[string]int, len(active))
	if len(active) == 0 {
		return out
	}
	weight := func(x c) float64 {
		if total == 0 {
			return 1 / float64(len(active)) // nobody saw requests: equal shares
		}
		return float64(x.reqs) / float64(total)
	}
	type rem struct {
		id   string
		frac float64
	}
	var rems []rem
	given := 0
	for _, x := range active {
		exact := float64(size) * weight(x)
		q := int(math.Floor(exact))
		out[x.id] = q
		given += q
		rems = append(rems, rem{x.id, exact - float64(q)})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac })
	for i := 0; given < size && i < len(rems); i++ {
		out[rems[i].id]++
		given++
	}
	return out
}

// record adds a report to its rule's 10-second window.
func (r *Rules) record(rule string, d Statistics) {
	ws := r.stats[rule]
	if ws == nil {
		ws = &windowStats{windows: map[int64]*Summary{}}
		r.stats[rule] = ws
	}
	ts := d.Timestamp
	if ts.IsZero() {
		ts = r.opts.Now()
	}
	start := ts.Unix() - ((ts.Unix()%10)+10)%10
	w := ws.windows[start]
	if w == nil {
		w = &Summary{RuleName: rule, Timestamp: time.Unix(start, 0).UTC()}
		ws.windows[start] = w
	}
	w.RequestCount += d.RequestCount
	w.SampledCount += d.SampledCount
	w.BorrowCount += d.BorrowCount
	if len(ws.windows) > windowKeep {
		oldest := int64(math.MaxInt64)
		for k := range ws.windows {
			oldest = min(oldest, k)
		}
		delete(ws.windows, oldest)
	}
}

// Summaries returns, for every rule with statistics, its most recent
// window, by rule name.
func (r *Rules) Summaries() []Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Summary
	for _, ws := range r.stats {
		var last *Summary
		for _, w := range ws.windows {
			if last == nil || w.Timestamp.After(last.Timestamp) {
				last = w
			}
		}
		if last != nil {
			out = append(out, *last)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RuleName < out[j].RuleName })
	return out
}

// Windows returns every kept window of a rule, oldest first.
func (r *Rules) Windows(rule string) []Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.stats[rule]
	if ws == nil {
		return nil
	}
	out := make([]Summary, 0, len(ws.windows))
	for _, w := range ws.windows {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out
}
