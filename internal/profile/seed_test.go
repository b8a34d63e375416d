package profile_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/summarize"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// pipeline is the write path: summarizer, then the store.
type pipeline struct {
	t   *testing.T
	st  *pebblestore.Store
	sum *summarize.Summarizer
	dec *segment.Decoder
}

func newPipeline(t *testing.T) *pipeline {
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{NoSync: true, EpochPast: 50 * 365 * 24 * time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &pipeline{t: t, st: st, sum: summarize.New(st, summarize.Options{}, metrics.NewSet(), quiet), dec: segment.NewDecoder(0)}
}

// write ingests documents as one batch.
func (p *pipeline) write(docs ...[]byte) {
	p.t.Helper()
	b := &store.Batch{}
	var segs []segment.Segment
	for _, d := range docs {
		ss, err := p.dec.Decode(nil, d)
		if err != nil {
			p.t.Fatal(err)
		}
		for k := range ss {
			segs = append(segs, ss[k])
			b.Records = append(b.Records, store.Record{TraceID: ss[k].TraceID, ID: ss[k].ID(), Received: time.Now().UnixNano(), Doc: d})
		}
	}
	if err := p.sum.Observe(segs, b); err != nil {
		p.t.Fatal(err)
	}
	if err := p.st.Write(context.Background(), b); err != nil {
		p.t.Fatal(err)
	}
}

// seed ingests n traces of the seed scenario from start (one upload per
// 0.6 s), with DynamoDB calls made slower by slow.
func (p *pipeline) seed(start time.Time, n int, slow time.Duration) {
	sc, err := loadgen.New("seed", 7)
	if err != nil {
		p.t.Fatal(err)
	}
	var batch [][]byte
	for i := range n {
		tr := sc.Trace(i, start.Add(time.Duration(i/3)*600*time.Millisecond))
		for _, d := range tr.Docs {
			doc := d.JSON
			if slow > 0 {
				doc = slower(p.t, doc, slow)
			}
			batch = append(batch, doc)
		}
		if len(batch) > 50 {
			p.write(batch...)
			batch = nil
		}
	}
	if len(batch) > 0 {
		p.write(batch...)
	}
}

// slower makes a DynamoDB subsegment document end later by d.
func slower(t *testing.T, doc []byte, d time.Duration) []byte {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	if name, _ := m["name"].(string); !strings.EqualFold(name, "dynamodb") || m["namespace"] != "aws" {
		return doc
	}
	m["end_time"] = m["end_time"].(float64) + d.Seconds()
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func find(b *profile.Breakdown, last string) *profile.PartStats {
	for i := range b.Parts {
		if p := &b.Parts[i]; p.Path[len(p.Path)-1] == last {
			return p
		}
	}
	return nil
}

// On the seed scenario, xraystarter-go's time goes to DynamoDB, cold
// starts' Initialization and Lambda's Overhead; a window whose DynamoDB
// calls are 40 ms slower ranks DynamoDB first.
func TestSeedProfile(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p.seed(base, 300, 0)
	p.seed(base.Add(time.Hour), 300, 40*time.Millisecond)

	prof, err := profile.Read(ctx, p.st, "xraystarter-go", base, base.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if prof.All.Invocations != 100 || prof.Cold == nil || prof.Warm == nil {
		t.Fatalf("invocations %d, cold %v, warm %v", prof.All.Invocations, prof.Cold != nil, prof.Warm != nil)
	}
	if prof.Cold.Invocations+prof.Warm.Invocations != 100 || prof.Cold.Invocations == 0 {
		t.Fatalf("cold %d + warm %d", prof.Cold.Invocations, prof.Warm.Invocations)
	}
	ddb := find(prof.All, "DynamoDB items PutItem")
	if ddb == nil || ddb.Count != 100 {
		t.Fatalf("DynamoDB part %+v", ddb)
	}
	// loadgen's Go function: DynamoDB 4–14 ms (+25–80 ms cold), Overhead
	// 0.2–2 ms, Initialization 50–120 ms on cold starts only.
	if ddb.SelfP50 < 0.004 || ddb.SelfP50 > 0.094 || ddb.Share < 0.02 || ddb.Share > 0.6 {
		t.Errorf("DynamoDB p50 %v share %v", ddb.SelfP50, ddb.Share)
	}
	if ov := find(prof.All, "Overhead"); ov == nil || ov.SelfP50 < 0.0002 || ov.SelfP50 > 0.002 {
		t.Errorf("Overhead %+v", ov)
	}
	if find(prof.Warm, "Initialization") != nil {
		t.Error("Initialization in warm invocations")
	}
	init := find(prof.Cold, "Initialization")
	if init == nil || init.Count != prof.Cold.Invocations || init.SelfP50 < 0.05 || init.SelfP50 > 0.12 {
		t.Errorf("Initialization %+v", init)
	}
	sum := 0.0
	for _, part := range prof.All.Parts {
		sum += part.Share
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("shares add up to %v (no overlapping children in seed traces)", sum)
	}

	slow, err := profile.Read(ctx, p.st, "xraystarter-go", base.Add(time.Hour), base.Add(time.Hour+10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c := profile.Compare(prof.All, slow.All)
	top := c.Changes[0]
	if top.Path[len(top.Path)-1] != "DynamoDB items PutItem" || !top.Significant {
		t.Fatalf("top change %+v", top)
	}
	// The two windows hold different random traces (loadgen seeds them
	// with their start): the base means differ by a few milliseconds.
	if top.Delta < 0.035 || top.Delta > 0.045 || top.Contribution < 0.8 {
		t.Errorf("DynamoDB delta %v (contribution %v), want 40 ms ± 5 ms of the total's change", top.Delta, top.Contribution)
	}
	for _, ch := range c.Changes[1:] {
		if ch.Significant && ch.Path[len(ch.Path)-1] == "Overhead" {
			t.Errorf("Overhead reported as changed: %+v", ch)
		}
	}
}

// A late segment (the trace's second revision) replaces what the first
// revision counted: the invocation is counted once, with its final parts.
func TestLateSegments(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t)
	docs := lambdaDocs(true)
	// First the DynamoDB subsegment and the function segment: the
	// function is its own invocation until its service segment arrives.
	p.write([]byte(docs[0]), []byte(docs[1]))
	from, to := time.Unix(int64(t0)-60, 0), time.Unix(int64(t0)+120, 0)
	prof, err := profile.Read(ctx, p.st, "fn", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if prof.All.Invocations != 1 || prof.All.Mean < 0.779 || prof.All.Mean > 0.781 {
		t.Fatalf("first revision: %d invocations, mean %v; want 1 of 0.78 s", prof.All.Invocations, prof.All.Mean)
	}
	p.write([]byte(docs[2]))
	prof, err = profile.Read(ctx, p.st, "fn", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if prof.All.Invocations != 1 || prof.All.Mean != 1 || prof.Cold == nil || prof.Cold.Invocations != 1 {
		t.Fatalf("second revision: %d invocations, mean %v; want 1 cold of 1 s", prof.All.Invocations, prof.All.Mean)
	}
	want := map[string]float64{"fn": 0, "Dwell Time": 0.1, "Attempt #1": 0.12, "AWS::Lambda::Function": 0.06,
		"Initialization": 0.17, "Invocation": 0.3, "DynamoDB items PutItem": 0.2, "Overhead": 0.05}
	if len(prof.All.Parts) != len(want)-1 { // fn's own part has no self time but is listed
		t.Logf("parts %+v", prof.All.Parts)
	}
	for last, self := range want {
		part := find(prof.All, last)
		if part == nil {
			t.Errorf("part %q missing", last)
			continue
		}
		if d := part.SelfMean - self; d > 1e-6 || d < -1e-6 || part.Count != 1 {
			t.Errorf("part %q: self %v count %d, want %v once", last, part.SelfMean, part.Count, self)
		}
	}
}

// Welch's test against hand-computed values and the t distribution's
// closed forms.
func TestWelch(t *testing.T) {
	// {1,2,3,4} vs {3,4,5,6,7}: means 2.5 and 5, variances 5/3 and 5/2.
	tv, df, _ := profile.Welch(4, 10, 30, 5, 25, 135)
	if d := tv - 2.611165; d > 1e-5 || d < -1e-5 {
		t.Errorf("t = %v, want 2.611165", tv)
	}
	if d := df - 6.980769; d > 1e-5 || d < -1e-5 {
		t.Errorf("df = %v, want 6.980769", df)
	}
	for _, tc := range []struct{ t, df, p float64 }{
		{1, 1, 0.5}, // Cauchy: 1 − 2/π·atan(1)
		{3, 1, 1 - 2/3.141592653589793*1.2490457723982544}, // atan(3)
		{2, 2, 1 - 2/2.449489742783178},                    // 1 − t/√(2+t²)
		{2.228138851986274, 10, 0.05},                      // table value
		{0, 5, 1},
	} {
		if p := profile.TTwoSided(tc.t, tc.df); p-tc.p > 1e-9 || tc.p-p > 1e-9 {
			t.Errorf("P(|T_%v| > %v) = %v, want %v", tc.df, tc.t, p, tc.p)
		}
	}
	if _, _, p := profile.Welch(1, 1, 1, 5, 5, 5); p != 1 {
		t.Errorf("one observation: p = %v, want 1", p)
	}
}
