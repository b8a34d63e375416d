package sampling_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/sampling"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T, dir string) *pebblestore.Store {
	t.Helper()
	st, err := pebblestore.Open(dir, pebblestore.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func rule(name string, prio int, svc string) sampling.Rule {
	return sampling.Rule{Name: name, ResourceARN: "*", Priority: prio, FixedRate: 0.1, ReservoirSize: 1, ServiceName: svc,
		ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", Version: 1}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "anything/at/all", true}, {"/api/*", "/api/users/7", true}, {"/api/*", "/web/x", false},
		{"GET", "get", true}, {"P?T", "PUT", true}, {"P?T", "POST", false}, {"orders-*", "Orders-EU", true},
		{"a[b]", "a[b]", true}, {"", "", true}, {"", "x", false}, {"*.example.com", "api.example.com", true},
	} {
		if got := sampling.Glob(c.pat, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}

func TestRulesMatchPersistAndDefault(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, dir)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rs, err := sampling.Open(ctx, st, sampling.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// Priority orders rules, then name.
	for _, r := range []sampling.Rule{rule("b-orders", 5, "orders"), rule("a-orders", 5, "orders"), rule("all", 1, "*")} {
		if _, err := rs.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, r := range rs.List() {
		names = append(names, r.Name)
	}
	if got := names; len(got) != 4 || got[0] != "all" || got[1] != "a-orders" || got[2] != "b-orders" || got[3] != "Default" {
		t.Fatalf("order %v; want all, a-orders, b-orders, Default", got)
	}
	withAttr := rule("vip", 2, "orders")
	withAttr.Attributes = map[string]string{"tier": "gold*"}
	withAttr.HTTPMethod = "POST"
	if _, err := rs.Create(ctx, withAttr); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Delete(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	req := sampling.Request{ServiceName: "orders", ServiceType: "AWS::EC2::Instance", Host: "h", HTTPMethod: "post", URLPath: "/x", ResourceARN: "arn"}
	if got := rs.Match(req).Name; got != "a-orders" {
		t.Errorf("no attributes: matched %s, want a-orders", got)
	}
	req.Attributes = map[string]string{"tier": "gold-plus"}
	if got := rs.Match(req).Name; got != "vip" {
		t.Errorf("tier=gold-plus: matched %s, want vip", got)
	}
	req.ServiceName = "billing"
	if got := rs.Match(req).Name; got != "Default" {
		t.Errorf("billing: matched %s, want Default", got)
	}
	// Default: rate and reservoir only; never deleted.
	if _, err := rs.Delete(ctx, "Default"); err == nil {
		t.Error("Default was deleted")
	}
	host := "x"
	if _, err := rs.Update(ctx, "Default", sampling.Update{Host: &host}); err == nil {
		t.Error("Default's Host changed")
	}
	rate, res := 0.05, 3
	if _, err := rs.Update(ctx, "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default", sampling.Update{FixedRate: &rate, ReservoirSize: &res}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Create(ctx, rule("a-orders", 7, "x")); err == nil {
		t.Error("a second a-orders was created")
	}
	bad := rule("v2", 7, "x")
	bad.Version = 2
	if _, err := rs.Create(ctx, bad); err == nil {
		t.Error("Version 2 was accepted")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything persists.
	st = openStore(t, dir)
	defer st.Close()
	rs, err = sampling.Open(ctx, st, sampling.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l := rs.List(); len(l) != 4 {
		t.Fatalf("after reopening: %d rules, want 4", len(l))
	}
	def, _ := rs.Get("Default")
	if def.FixedRate != 0.05 || def.ReservoirSize != 3 || !def.ModifiedAt.Equal(now) {
		t.Errorf("Default after reopening: %+v", def)
	}
	if !rs.LastModification().Equal(now) {
		t.Errorf("LastModification %v, want %v", rs.LastModification(), now)
	}
}

func TestReservoirShares(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	st := openStore(t, t.TempDir())
	defer st.Close()
	rs, err := sampling.Open(ctx, st, sampling.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r := rule("api", 10, "api")
	r.ReservoirSize = 10
	if _, err := rs.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	report := func(client string, reqs int64) sampling.Target {
		t.Helper()
		ts, un := rs.Targets([]sampling.Statistics{{RuleName: "api", ClientID: client, Timestamp: now, RequestCount: reqs, SampledCount: reqs / 10}})
		if len(ts) != 1 || len(un) != 0 {
			t.Fatalf("targets %+v, unprocessed %+v", ts, un)
		}
		return ts[0]
	}
	// Alone, a client gets the whole reservoir.
	if tg := report("aaaaaaaaaaaaaaaaaaaaaaaa", 100); tg.Quota != 10 || tg.FixedRate != 0.1 || tg.Interval != 10*time.Second || !tg.QuotaTTL.After(now) {
		t.Fatalf("one client: %+v", tg)
	}
	// Two clients, 100 and 300 requests: 2.5 and 7.5 → 3 and 7 or 2 and 8,
	// adding up to 10.
	b := report("bbbbbbbbbbbbbbbbbbbbbbbb", 300).Quota
	a := report("aaaaaaaaaaaaaaaaaaaaaaaa", 100).Quota
	if a+b != 10 || b < 7 || a < 2 {
		t.Errorf("quotas a %d b %d; want shares of 10 in proportion 1:3", a, b)
	}
	// A client that stops reporting gives its share back.
	now = now.Add(time.Minute)
	if q := report("aaaaaaaaaaaaaaaaaaaaaaaa", 100).Quota; q != 10 {
		t.Errorf("after b went away: quota %d, want 10", q)
	}
	// Unknown rules are unprocessed.
	if _, un := rs.Targets([]sampling.Statistics{{RuleName: "nope", ClientID: "c", Timestamp: now}}); len(un) != 1 || un[0].ErrorCode != "400" {
		t.Errorf("unknown rule: %+v", un)
	}
	// Statistics add up per 10-second window.
	sums := rs.Summaries()
	if len(sums) != 1 || sums[0].RuleName != "api" || sums[0].RequestCount != 100 || !sums[0].Timestamp.Equal(now.Truncate(10*time.Second)) {
		t.Errorf("summaries %+v", sums)
	}
	ws := rs.Windows("api")
	if len(ws) != 2 || ws[0].RequestCount != 500 || ws[0].SampledCount != 50 {
		t.Errorf("windows %+v; want 500 requests in the first (100+300+100), 100 in the second", ws)
	}
}

func TestSamplingBoost(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := openStore(t, t.TempDir())
	defer st.Close()
	rs, err := sampling.Open(ctx, st, sampling.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r := rule("api", 10, "api")
	r.Boost = &sampling.Boost{MaxRate: 0.5, CooldownWindowMinutes: 5}
	if _, err := rs.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Create(ctx, rule("plain", 11, "x")); err != nil {
		t.Fatal(err)
	}
	stats := []sampling.Statistics{{RuleName: "api", ClientID: "c", Timestamp: now, RequestCount: 10}}
	target := func() sampling.Target {
		t.Helper()
		ts, _ := rs.Targets(stats)
		return ts[0]
	}
	if target().Boost != nil {
		t.Fatal("boosted before any anomaly")
	}
	un := rs.ReportBoosts([]sampling.BoostStatistics{{RuleName: "api", AnomalyCount: 3, TotalCount: 10}, {RuleName: "plain", AnomalyCount: 1}, {RuleName: "nope"}})
	if len(un) != 2 {
		t.Errorf("unprocessed %+v; want plain (no boost) and nope", un)
	}
	b := target().Boost
	if b == nil || b.Rate != 0.5 || !b.Until.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("boost %+v; want 0.5 for the 5-minute window", b)
	}
	// Another anomaly within the window does not start a new boost.
	now = now.Add(4 * time.Minute)
	rs.ReportBoosts([]sampling.BoostStatistics{{RuleName: "api", AnomalyCount: 1}})
	if b := target().Boost; b == nil || !b.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("boost %+v; want the first one, ending in a minute", b)
	}
	now = now.Add(2 * time.Minute)
	if target().Boost != nil {
		t.Fatal("the boost outlived its window")
	}
}
