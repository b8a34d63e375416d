// Package insights detects fault-rate anomalies in the service graph of
// the groups whose InsightsConfiguration enables them, as X-Ray Insights
// does: an insight opens (ACTIVE) when a service's fault rate in the
// group rises well above its baseline, names the root-cause service and
// the impact on client requests, records events while it lasts, and
// closes (CLOSED) when the fault rate is back to normal. The method is in
// docs/insights.md. Insights persist in the store's metadata (key
// "insight/<id>").
package insights

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/store"
)

const metaPrefix = "insight/"

// States of an insight.
const (
	Active = "ACTIVE"
	Closed = "CLOSED"
)

// Options tunes detection; zero values take the documented defaults.
type Options struct {
	// Recent is the window tested (default 5 minutes), Baseline the
	// window before it that gives the expected fault rate (default 60
	// minutes).
	Recent, Baseline time.Duration
	// Alpha is the significance of the one-sided binomial test (default
	// 1e-4): with a service tested every minute, a false alarm is rarer
	// than once a week.
	Alpha float64
	// MinFaults is the fewest faults in Recent that can open an insight
	// (default 5), MinRatio the least ratio of recent to baseline fault
	// rate (default 2).
	MinFaults int64
	MinRatio  float64
	// PriorRate and PriorWeight smooth the baseline: it is (faults +
	// PriorRate*PriorWeight) / (requests + PriorWeight), so a service with
	// little history is compared with a 1 % fault rate (defaults 0.01,
	// 100 requests).
	PriorRate, PriorWeight float64
	// Evaluates says whether this process evaluates the group with the
	// given ARN (nil: every group). Nodes sharing one store give each
	// group to one of them, so an anomaly is one insight, not one per
	// node; the others see it through Reload.
	Evaluates func(groupARN string) bool
	Logger    *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Recent <= 0 {
		o.Recent = 5 * time.Minute
	}
	if o.Baseline <= 0 {
		o.Baseline = time.Hour
	}
	if o.Alpha <= 0 {
		o.Alpha = 1e-4
	}
	if o.MinFaults <= 0 {
		o.MinFaults = 5
	}
	if o.MinRatio <= 0 {
		o.MinRatio = 2
	}
	if o.PriorRate <= 0 {
		o.PriorRate = 0.01
	}
	if o.PriorWeight <= 0 {
		o.PriorWeight = 100
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Impact is X-Ray's RequestImpactStatistics.
type Impact struct {
	FaultCount, OkCount, TotalCount int64
}

// Event is one change in an insight's life (X-Ray's InsightEvent).
type Event struct {
	Time            time.Time
	Summary         string
	ClientImpact    Impact
	RootCauseImpact Impact
	TopAnomalous    []graph.NodeID
}

// Insight is one detected anomaly.
type Insight struct {
	ID                  string
	GroupName, GroupARN string
	RootCause           graph.NodeID
	State               string
	Start, End          time.Time // End is zero while ACTIVE
	LastUpdate          time.Time
	Summary             string
	ClientImpact        Impact
	RootCauseImpact     Impact
	TopAnomalous        []graph.NodeID
	Events              []Event
	// Group is the group's counter group ("" for Default).
	Group string
}

// Detector evaluates the groups and keeps their insights.
type Detector struct {
	meta   store.MetaStore
	graph  store.GraphReader
	groups *groups.Registry
	opts   Options

	mu       sync.Mutex
	insights map[string]*Insight
}

// Open loads the stored insights. reg may be nil (only the Default
// group, whose Insights are then off).
func Open(ctx context.Context, meta store.MetaStore, gr store.GraphReader, reg *groups.Registry, opts Options) (*Detector, error) {
	opts.setDefaults()
	d := &Detector{meta: meta, graph: gr, groups: reg, opts: opts}
	all, err := d.load(ctx)
	if err != nil {
		return nil, err
	}
	d.insights = all
	return d, nil
}

func (d *Detector) load(ctx context.Context) (map[string]*Insight, error) {
	all := map[string]*Insight{}
	for e, err := range d.meta.ListMeta(ctx, metaPrefix) {
		if err != nil {
			return nil, fmt.Errorf("insights: list stored insights: %w", err)
		}
		var rec record
		if err := json.Unmarshal(e.Value, &rec); err != nil || rec.V != 1 || rec.Insight.ID == "" {
			return nil, fmt.Errorf("insights: stored %q is not a version 1 insight (err %v)", e.Key, err)
		}
		in := rec.Insight
		all[in.ID] = &in
	}
	return all, nil
}

// Reload replaces the insights of the groups this process does not
// evaluate with the stored ones: another node sharing the store evaluates
// them. The ones it evaluates itself are kept: it is their only writer.
func (d *Detector) Reload(ctx context.Context) error {
	all, err := d.load(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, in := range d.insights {
		if d.evaluates(in.GroupARN) {
			all[id] = in
		}
	}
	d.insights = all
	return nil
}

func (d *Detector) evaluates(groupARN string) bool {
	return d.opts.Evaluates == nil || d.opts.Evaluates(groupARN)
}

type record struct {
	V       int     `json:"v"`
	Insight Insight `json:"insight"`
}

// stats are a node's or an edge's counts in a window.
type stats struct{ ok, fault, total int64 }

func (s *stats) add(values []store.Counter) {
	for _, c := range values {
		n := int64(math.Round(c.Value))
		switch c.Index {
		case graph.IdxOK:
			s.ok += n
			s.total += n
		case graph.IdxFault:
			s.fault += n
			s.total += n
		case graph.IdxErrorOther, graph.IdxThrottle:
			s.total += n
		}
	}
}

type window struct {
	nodes  map[graph.NodeID]*stats
	calls  map[graph.NodeID][]graph.NodeID // caller → callees
	client stats                           // requests from clients into the group's entry services
}

func get[K comparable](m map[K]*stats, k K) *stats {
	s := m[k]
	if s == nil {
		s = &stats{}
		m[k] = s
	}
	return s
}

// Evaluate runs detection for every group with insights enabled, at now
// (the minutes before now's minute are complete).
func (d *Detector) Evaluate(ctx context.Context, now time.Time) error {
	var gs []groups.Group
	if d.groups != nil {
		gs = d.groups.List()
	}
	for _, g := range gs {
		if !g.Insights.InsightsEnabled || !d.evaluates(g.ARN) {
			continue
		}
		if err := d.evaluateGroup(ctx, g, now); err != nil {
			return err
		}
	}
	return nil
}

func (d *Detector) evaluateGroup(ctx context.Context, g groups.Group, now time.Time) error {
	nowMin := now.Unix() / 60
	recentFrom := nowMin - int64(d.opts.Recent/time.Minute)
	baseFrom := recentFrom - int64(d.opts.Baseline/time.Minute)
	recent := window{nodes: map[graph.NodeID]*stats{}, calls: map[graph.NodeID][]graph.NodeID{}}
	base := window{nodes: map[graph.NodeID]*stats{}, calls: map[graph.NodeID][]graph.NodeID{}}
	for row, err := range d.graph.GraphCounters(ctx, g.ID, baseFrom, nowMin) {
		if err != nil {
			return fmt.Errorf("insights: read service graph of group %s: %w", g.Name, err)
		}
		k, err := graph.ParseKey(row.Key)
		if err != nil {
			continue
		}
		w := &base
		if row.Minute >= recentFrom {
			w = &recent
		}
		switch {
		case !k.Edge && !k.Node.IsClient():
			get(w.nodes, k.Node).add(row.Values)
		case k.Edge && k.From.IsClient():
			w.client.add(row.Values)
		case k.Edge:
			if !slices.Contains(w.calls[k.From], k.To) {
				w.calls[k.From] = append(w.calls[k.From], k.To)
			}
		}
	}
	anomalous := map[graph.NodeID]bool{}
	for id, r := range recent.nodes {
		b := base.nodes[id]
		if b == nil {
			b = &stats{}
		}
		if d.anomalous(r, b) {
			anomalous[id] = true
		}
	}
	// The root causes are the anomalous services none of whose callees
	// is anomalous: faults propagate to callers, so the deepest ones are
	// where they start.
	var roots, top []graph.NodeID
	for id := range anomalous {
		top = append(top, id)
		if !slices.ContainsFunc(recent.calls[id], func(c graph.NodeID) bool { return anomalous[c] }) {
			roots = append(roots, id)
		}
	}
	byFaults := func(a, b graph.NodeID) int {
		if fa, fb := recent.nodes[a].fault, recent.nodes[b].fault; fa != fb {
			return int(fb - fa)
		}
		return compareNodes(a, b)
	}
	slices.SortFunc(top, byFaults)
	slices.SortFunc(roots, byFaults)
	if len(top) > 5 {
		top = top[:5]
	}
	client := Impact{FaultCount: recent.client.fault, OkCount: recent.client.ok, TotalCount: recent.client.total}

	d.mu.Lock()
	defer d.mu.Unlock()
	var changed []*Insight
	open := map[graph.NodeID]*Insight{}
	for _, in := range d.insights {
		if in.State == Active && in.GroupARN == g.ARN {
			open[in.RootCause] = in
		}
	}
	for _, root := range roots {
		rs := recent.nodes[root]
		impact := Impact{FaultCount: rs.fault, OkCount: rs.ok, TotalCount: rs.total}
		summary := fmt.Sprintf("%s (%s) is impacted by a fault rate of %.1f%% in the last %d minutes (baseline %.1f%%)",
			root.Name, root.Type, pct(rs), int(d.opts.Recent/time.Minute), pct(base.nodes[root]))
		in := open[root]
		if in == nil {
			in = &Insight{ID: uuid.NewString(), GroupName: g.Name, GroupARN: g.ARN, Group: g.ID, RootCause: root, State: Active,
				Start: now.UTC(), Summary: summary}
			d.insights[in.ID] = in
			in.Events = append(in.Events, Event{Time: now.UTC(), Summary: "Insight opened: " + summary, ClientImpact: client,
				RootCauseImpact: impact, TopAnomalous: top})
		} else if impact != in.RootCauseImpact {
			in.Events = append(in.Events, Event{Time: now.UTC(), Summary: "Impact changed: " + summary, ClientImpact: client,
				RootCauseImpact: impact, TopAnomalous: top})
		}
		delete(open, root)
		in.Summary, in.ClientImpact, in.RootCauseImpact, in.TopAnomalous, in.LastUpdate = summary, client, impact, top, now.UTC()
		changed = append(changed, in)
	}
	for _, in := range open { // no longer anomalous
		in.State, in.End, in.LastUpdate = Closed, now.UTC(), now.UTC()
		in.Events = append(in.Events, Event{Time: now.UTC(), Summary: fmt.Sprintf("Insight closed: the fault rate of %s is back to its baseline", in.RootCause.Name),
			ClientImpact: client, RootCauseImpact: in.RootCauseImpact})
		changed = append(changed, in)
	}
	for _, in := range changed {
		if err := d.put(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

func compareNodes(a, b graph.NodeID) int {
	if a.Name != b.Name {
		if a.Name < b.Name {
			return -1
		}
		return 1
	}
	if a.Type < b.Type {
		return -1
	}
	if a.Type > b.Type {
		return 1
	}
	return 0
}

func pct(s *stats) float64 {
	if s == nil || s.total == 0 {
		return 0
	}
	return 100 * float64(s.fault) / float64(s.total)
}

// anomalous applies the test of docs/insights.md to a service's recent
// and baseline counts.
func (d *Detector) anomalous(r, b *stats) bool {
	if r.fault < d.opts.MinFaults || r.total == 0 {
		return false
	}
	p0 := (float64(b.fault) + d.opts.PriorRate*d.opts.PriorWeight) / (float64(b.total) + d.opts.PriorWeight)
	if float64(r.fault)/float64(r.total) < d.opts.MinRatio*p0 {
		return false
	}
	return BinomialTail(r.total, r.fault, p0) < d.opts.Alpha
}

// BinomialTail is P(X >= k) for X ~ Binomial(n, p), summed exactly in log
// space from k up, until the terms no longer count (the detector only asks
// when k is at least twice the mean, past the mode, so a few terms do).
func BinomialTail(n, k int64, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	if p <= 0 {
		return 0
	}
	if p >= 1 {
		return 1
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lgN, _ := math.Lgamma(float64(n + 1))
	var sum float64
	for i := k; i <= n; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		term := math.Exp(lgN - a - b + float64(i)*lp + float64(n-i)*lq)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return math.Min(sum, 1)
}

func (d *Detector) put(ctx context.Context, in *Insight) error {
	b, err := json.Marshal(record{V: 1, Insight: *in})
	if err != nil {
		return fmt.Errorf("insights: encode %s: %w", in.ID, err)
	}
	if err := d.meta.PutMeta(ctx, metaPrefix+in.ID, b); err != nil {
		return fmt.Errorf("insights: store %s: %w", in.ID, err)
	}
	return nil
}

// Get returns an insight by ID.
func (d *Detector) Get(id string) (Insight, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	in, ok := d.insights[id]
	if !ok {
		return Insight{}, false
	}
	return clone(in), true
}

func clone(in *Insight) Insight {
	c := *in
	c.TopAnomalous = slices.Clone(in.TopAnomalous)
	c.Events = slices.Clone(in.Events)
	return c
}

// List returns the insights active at some time in [from, to), of the
// group with the given ARN ("" for every group) and state ("" for both),
// most recent first.
func (d *Detector) List(from, to time.Time, groupARN, state string) []Insight {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Insight
	for _, in := range d.insights {
		if groupARN != "" && in.GroupARN != groupARN || state != "" && in.State != state {
			continue
		}
		if !in.Start.Before(to) || !in.End.IsZero() && in.End.Before(from) {
			continue
		}
		out = append(out, clone(in))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Run evaluates once a minute until ctx ends.
func (d *Detector) Run(ctx context.Context, now func() time.Time) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.Evaluate(ctx, now()); err != nil && ctx.Err() == nil {
			d.opts.Logger.Error("insights: evaluation failed", "err", err)
		}
	}
}
