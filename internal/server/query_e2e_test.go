package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/testenv"
)

// TestGetTraceSummariesFilterEndToEnd loads the seed and large scenarios
// through PutTraceSegments, then runs filter expressions through the AWS
// SDK for Go v2 (every page) and the AWS CLI, and compares the exact trace
// IDs returned with an independent oracle computed from the documents sent.
func TestGetTraceSummariesFilterEndToEnd(t *testing.T) {
	srv := startServer(t)
	client := xrayClient(srv)
	ctx := context.Background()

	// Every trace starts within [base, base+40m), all in the last hour.
	base := time.Now().Add(-55 * time.Minute).Truncate(time.Minute)
	winStart, winEnd := base, base.Add(45*time.Minute)
	cases := e2eCases()
	c := buildCorpus(t, base, cases)
	t.Logf("corpus: %d seed + %d large traces, %d large traces added for coverage (of %d generated), %d documents",
		c.nSeed, c.nLarge, c.nExtra, c.generated, len(c.docs))

	// Send every document through PutTraceSegments, in batches of 50.
	for k := 0; k < len(c.docs); k += 50 {
		batch := c.docs[k:min(k+50, len(c.docs))]
		out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: batch})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range out.UnprocessedTraceSegments {
			t.Fatalf("document %s rejected: %s %s", aws.ToString(u.Id), aws.ToString(u.ErrorCode), aws.ToString(u.Message))
		}
	}
	all := func(expr string) []string { return summaryIDs(t, client, winStart, winEnd, expr) }
	waitFor(t, "every trace to be searchable", func() bool { return len(all("")) == len(c.traces) })
	if got := all(""); !sameIDs(t, "no filter", got, keys(c.traces)) {
		t.FailNow()
	}

	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			want := c.matching(tc.want)
			if len(want) == 0 || len(want) == len(c.traces) {
				t.Fatalf("the oracle matches %d of %d traces: the expression tests nothing", len(want), len(c.traces))
			}
			if sameIDs(t, tc.expr, all(tc.expr), want) {
				t.Logf("%d of %d traces", len(want), len(c.traces))
			}
		})
	}
	// Expressions no trace may match, each the twin of a tested one.
	for _, tc := range e2eEmptyCases() {
		t.Run(tc.expr, func(t *testing.T) {
			if want := c.matching(tc.want); len(want) != 0 {
				t.Fatalf("the oracle matches %d traces; this case expects none", len(want))
			}
			sameIDs(t, tc.expr, all(tc.expr), nil)
		})
	}

	t.Run("AWS CLI", func(t *testing.T) {
		cli := testenv.AWSCLI(t)
		run := func(expr string) (string, int) {
			cmd := exec.Command(cli, "xray", "get-trace-summaries", "--endpoint-url", "http://"+srv.HTTPAddr(), "--output", "json",
				"--start-time", strconv.FormatInt(winStart.Unix(), 10), "--end-time", strconv.FormatInt(winEnd.Unix(), 10),
				"--filter-expression", expr)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
				"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return string(out), cmd.ProcessState.ExitCode()
			}
			return string(out), 0
		}
		for _, tc := range cases {
			switch tc.expr {
			case `!ok`, `annotation[aws:responseLatency] > 40`, `http.method = "POST" AND responsetime > 0.5`:
			default:
				continue
			}
			out, code := run(tc.expr)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", tc.expr, code, out)
			}
			var res struct{ TraceSummaries []struct{ Id string } }
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%s: %v: %s", tc.expr, err, out)
			}
			var got []string
			for _, s := range res.TraceSummaries {
				got = append(got, s.Id)
			}
			sameIDs(t, "CLI "+tc.expr, got, c.matching(tc.want))
		}
		// A syntax error: InvalidRequestException, which the CLI reports
		// with exit code 254 and the server's message.
		out, code := run(`service("mobile-bff") { fault`)
		if code != 254 || !strings.Contains(out, "InvalidRequestException") ||
			!strings.Contains(out, "filter expression: column 30: ") {
			t.Fatalf("broken expression: exit %d: %s", code, out)
		}
	})
}

// summaryIDs runs GetTraceSummaries over [start, end) and returns the trace
// IDs of every page, in order.
func summaryIDs(t *testing.T, client *awsxray.Client, start, end time.Time, expr string) []string {
	t.Helper()
	in := &awsxray.GetTraceSummariesInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
	if expr != "" {
		in.FilterExpression = aws.String(expr)
	}
	var ids []string
	for p := awsxray.NewGetTraceSummariesPaginator(client, in); p.HasMorePages(); {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		for _, s := range page.TraceSummaries {
			ids = append(ids, aws.ToString(s.Id))
		}
	}
	return ids
}

// sameIDs reports (as a test error) duplicates in got and any difference
// between got and want.
func sameIDs(t *testing.T, what string, got, want []string) bool {
	t.Helper()
	seen := map[string]bool{}
	var dups []string
	for _, id := range got {
		if seen[id] {
			dups = append(dups, id)
		}
		seen[id] = true
	}
	wanted := map[string]bool{}
	var missing, extra []string
	for _, id := range want {
		wanted[id] = true
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	for id := range seen {
		if !wanted[id] {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	if len(dups)+len(missing)+len(extra) == 0 {
		return true
	}
	t.Errorf("%s: got %d IDs (%d distinct), want %d\n  returned twice: %v\n  missing: %v\n  unexpected: %v",
		what, len(got), len(seen), len(want), dups, missing, extra)
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The oracle: what each tested expression needs of a trace, computed from
// the very documents the test sent, decoded with encoding/json into generic
// maps. It shares no code with the server (internal/segment, summary,
// filter); its rules are X-Ray's filter semantics
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html) and TraceSummary
// fields (https://docs.aws.amazon.com/xray/latest/api/API_TraceSummary.html),
// written out as plainly as possible.

// oEnt is one segment or subsegment.
type oEnt struct {
	m       map[string]any
	id      string
	segment bool  // a top-level segment document, not a subsegment
	up      *oEnt // nested in, attached to, or (segments) called by; nil at a trace's root
	kids    []*oEnt
	owner   *oEnt // the segment whose service this entity belongs to
}

func (e *oEnt) str(k string) string  { s, _ := e.m[k].(string); return s }
func (e *oEnt) flag(k string) bool   { b, _ := e.m[k].(bool); return b }
func (e *oEnt) start() float64       { f, _ := e.m["start_time"].(float64); return f }
func (e *oEnt) end() (float64, bool) { f, ok := e.m["end_time"].(float64); return f, ok }

// inProgress: "in_progress": true (Python writes false on complete ones).
func (e *oEnt) inProgress() bool { return e.flag("in_progress") }

// get walks nested objects: get("http", "response", "status").
func (e *oEnt) get(path ...string) any {
	var v any = e.m
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// svcKey is a service-graph node of a real segment: its name and origin
// (every segment of one service carries the same account, or none, in
// these scenarios, so the account splits nothing).
type svcKey struct{ name, origin string }

func (e *oEnt) svc() svcKey { return svcKey{e.owner.str("name"), e.owner.str("origin")} }

type oTrace struct {
	id       string
	ents     []*oEnt // every entity, after in-progress replacement
	entry    *oEnt   // the entry segment
	duration float64
	users    map[string]bool
	// annotations of every entity: key -> values (string, float64, bool).
	annotations map[string][]any
	// services: each node's flags, set when any of its own segments has
	// the flag (not its subsegments).
	services map[svcKey]*svcFlags
	// edges: caller name -> callee name.
	edges map[[2]string]bool
	// faultRootCauses: names of the services owning a fault root cause.
	faultRootCauses map[string]bool
	// lateInProgress counts in-progress documents that came after the
	// complete document with the same id (and so were ignored).
	lateInProgress int
}

type svcFlags struct{ fault, err, throttle bool }

// Trace-level values of the entry segment (trace-level booleans,
// numbers and http.* use the entry point).
func (t *oTrace) fault() bool { return t.entry.flag("fault") }
func (t *oTrace) err() bool   { return t.entry.flag("error") }
func (t *oTrace) ok() bool {
	return !t.entry.flag("fault") && !t.entry.flag("error") && !t.entry.flag("throttle")
}
func (t *oTrace) method() string { s, _ := t.entry.get("http", "request", "method").(string); return s }
func (t *oTrace) url() string    { s, _ := t.entry.get("http", "request", "url").(string); return s }
func (t *oTrace) status() (int, bool) {
	f, ok := t.entry.get("http", "response", "status").(float64)
	return int(f), ok
}

// responseTime is the entry segment's end - start; absent while it is in
// progress.
func (t *oTrace) responseTime() (float64, bool) {
	end, ok := t.entry.end()
	return end - t.entry.start(), ok
}

// throttle is the summary's HasThrottle: any entity of the trace.
func (t *oTrace) throttle() bool {
	return slices.ContainsFunc(t.ents, func(e *oEnt) bool { return e.flag("throttle") })
}

// partial: an entity still in progress, or a traced call (http.request.traced,
// or Node's top-level traced) whose callee segment never arrived.
func (t *oTrace) partial() bool {
	for _, e := range t.ents {
		if e.inProgress() {
			return true
		}
		if e.segment || !(e.get("http", "request", "traced") == true || e.flag("traced")) {
			continue
		}
		if !slices.ContainsFunc(e.kids, func(k *oEnt) bool { return k.segment }) {
			return true
		}
	}
	return false
}

// annotation reports whether some value of annotation key satisfies f.
func (t *oTrace) annotation(key string, f func(v any) bool) bool {
	return slices.ContainsFunc(t.annotations[key], f)
}

func (t *oTrace) service(name, origin string) *svcFlags {
	var out *svcFlags
	for k, f := range t.services {
		if k.name == name && (origin == "" || k.origin == origin) {
			if out == nil {
				out = &svcFlags{}
			}
			out.fault, out.err, out.throttle = out.fault || f.fault, out.err || f.err, out.throttle || f.throttle
		}
	}
	return out
}

// oracle decodes documents and assembles their traces.
func oracle(docs [][]byte) (map[string]*oTrace, error) {
	// A document replaces an earlier one with the same id, except that an
	// in-progress document never replaces a complete one.
	byTrace := map[string]map[string]map[string]any{}
	late := map[string]int{}
	var order []string
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			return nil, fmt.Errorf("%v: %s", err, d)
		}
		tid, _ := m["trace_id"].(string)
		id, _ := m["id"].(string)
		if byTrace[tid] == nil {
			byTrace[tid] = map[string]map[string]any{}
			order = append(order, tid)
		}
		if prev, ok := byTrace[tid][id]; ok && prev["in_progress"] != true && m["in_progress"] == true {
			late[tid]++
			continue
		}
		byTrace[tid][id] = m
	}
	out := make(map[string]*oTrace, len(byTrace))
	for _, tid := range order {
		t, err := assembleTrace(tid, byTrace[tid])
		if err != nil {
			return nil, fmt.Errorf("trace %s: %v", tid, err)
		}
		t.lateInProgress = late[tid]
		out[tid] = t
	}
	return out, nil
}

func assembleTrace(tid string, docs map[string]map[string]any) (*oTrace, error) {
	t := &oTrace{id: tid, users: map[string]bool{}, annotations: map[string][]any{},
		services: map[svcKey]*svcFlags{}, edges: map[[2]string]bool{}, faultRootCauses: map[string]bool{}}
	byID := map[string]*oEnt{}
	var add func(m map[string]any, segment bool, up *oEnt) *oEnt
	add = func(m map[string]any, segment bool, up *oEnt) *oEnt {
		e := &oEnt{m: m, segment: segment, up: up}
		e.id = e.str("id")
		byID[e.id] = e
		t.ents = append(t.ents, e)
		subs, _ := m["subsegments"].([]any)
		for _, s := range subs {
			e.kids = append(e.kids, add(s.(map[string]any), false, e))
		}
		return e
	}
	var tops []*oEnt
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := docs[id]
		tops = append(tops, add(m, m["type"] != "subsegment", nil))
	}
	// A top-level document hangs under the entity its parent_id names: an
	// independent subsegment under its parent (segment or subsegment), a
	// segment under the caller's subsegment.
	for _, e := range tops {
		if p := byID[e.str("parent_id")]; p != nil {
			e.up = p
			p.kids = append(p.kids, e)
		} else if !e.segment {
			return nil, fmt.Errorf("independent subsegment %s has no parent", e.id)
		}
	}
	// Owner: a segment owns itself; a subsegment belongs to the segment it
	// (transitively) hangs under.
	for _, e := range t.ents {
		o := e
		for !o.segment {
			o = o.up
		}
		e.owner = o
	}
	// Entry: a segment with no parent inside the trace; the earliest if
	// several.
	for _, e := range t.ents {
		if e.segment && e.up == nil && (t.entry == nil || e.start() < t.entry.start()) {
			t.entry = e
		}
	}
	if t.entry == nil {
		return nil, fmt.Errorf("no entry segment")
	}
	// Duration: latest end - earliest start over every entity (an entity
	// in progress has only its start).
	lo, hi := t.entry.start(), t.entry.start()
	for _, e := range t.ents {
		lo, hi = min(lo, e.start()), max(hi, e.start())
		if end, ok := e.end(); ok {
			hi = max(hi, end)
		}
	}
	t.duration = hi - lo
	for _, e := range t.ents {
		if ann, ok := e.m["annotations"].(map[string]any); ok {
			for k, v := range ann {
				t.annotations[k] = append(t.annotations[k], v)
			}
		}
		if !e.segment {
			continue
		}
		if u := e.str("user"); u != "" {
			t.users[u] = true
		}
		f := t.services[e.svc()]
		if f == nil {
			f = &svcFlags{}
			t.services[e.svc()] = f
		}
		f.fault = f.fault || e.flag("fault")
		f.err = f.err || e.flag("error")
		f.throttle = f.throttle || e.flag("throttle")
		// An edge: the segment's parent belongs to another service.
		if e.up != nil && e.up.svc() != e.svc() {
			t.edges[[2]string{e.up.owner.str("name"), e.str("name")}] = true
		}
	}
	// Fault root causes (API_FaultRootCause): an entity with fault none of whose children
	// has fault. Its service is the owner's, unless it is a downstream call
	// (namespace aws or remote, or SQL) no real segment answered: then
	// X-Ray infers a segment below it with the same flags, and the root
	// cause is that inferred node (recorded here as "inferred:<name>").
	for _, e := range t.ents {
		if !e.flag("fault") || slices.ContainsFunc(e.kids, func(k *oEnt) bool { return k.flag("fault") }) {
			continue
		}
		ns := e.str("namespace")
		downstream := !e.segment && (ns == "aws" || ns == "remote" || e.m["sql"] != nil) &&
			!slices.ContainsFunc(e.kids, func(k *oEnt) bool { return k.segment })
		if downstream {
			t.faultRootCauses["inferred:"+e.str("name")] = true
		} else {
			t.faultRootCauses[e.owner.str("name")] = true
		}
	}
	return t, nil
}

// e2eCase is an expression and the oracle's rule for it.
type e2eCase struct {
	expr string
	want func(*oTrace) bool
}

func number(f func(float64) bool) func(any) bool {
	return func(v any) bool { x, ok := v.(float64); return ok && f(x) }
}

func serviceHas(name, origin string, flag func(*svcFlags) bool) func(*oTrace) bool {
	return func(t *oTrace) bool { s := t.service(name, origin); return s != nil && flag(s) }
}

func isFault(s *svcFlags) bool { return s.fault }
func isError(s *svcFlags) bool { return s.err }

// e2eCases are the tested expressions. Values come from the scenarios
// (internal/loadgen seed.go, large_topology.go): the seed scenario's Python
// function fails to import about 20% of the time (fault on its
// AWS::Lambda::Function segment; the AWS::Lambda segment still answers 202);
// in the large one, faults, errors and throttles start in leaf services and
// propagate to the entry.
func e2eCases() []e2eCase {
	return []e2eCase{
		{`fault`, (*oTrace).fault},
		{`error`, (*oTrace).err},
		{`throttle`, (*oTrace).throttle},
		{`!ok`, func(t *oTrace) bool { return !t.ok() }},
		{`ok`, (*oTrace).ok},
		{`partial`, (*oTrace).partial},
		{`service("xraystarter-py") { fault }`, serviceHas("xraystarter-py", "", isFault)},
		{`service(id(name: "xraystarter-py", type: "AWS::Lambda::Function")) { fault }`,
			serviceHas("xraystarter-py", "AWS::Lambda::Function", isFault)},
		{`service("web-frontend") { fault }`, serviceHas("web-frontend", "", isFault)},
		{`service("recommendation-service") { fault } OR service("auth-service") { error }`, func(t *oTrace) bool {
			return serviceHas("recommendation-service", "", isFault)(t) || serviceHas("auth-service", "", isError)(t)
		}},
		{`edge("order-service", "payment-service")`, func(t *oTrace) bool { return t.edges[[2]string{"order-service", "payment-service"}] }},
		{`annotation.customer_tier = "premium"`, func(t *oTrace) bool {
			return t.annotation("customer_tier", func(v any) bool { return v == "premium" })
		}},
		{`annotation.order_total > 500`, func(t *oTrace) bool {
			return t.annotation("order_total", number(func(x float64) bool { return x > 500 }))
		}},
		{`annotation[aws:responseLatency] > 40`, func(t *oTrace) bool {
			return t.annotation("aws:responseLatency", number(func(x float64) bool { return x > 40 }))
		}},
		// The most frequent end user of the large scenario with seed 7.
		{`user = "user-256749"`, func(t *oTrace) bool { return t.users["user-256749"] }},
		{`http.status = 429`, func(t *oTrace) bool { s, ok := t.status(); return ok && s == 429 }},
		{`http.method = "POST" AND responsetime > 0.5`, func(t *oTrace) bool {
			rt, ok := t.responseTime()
			return t.method() == "POST" && ok && rt > 0.5
		}},
		{`duration >= 0.1 AND duration <= 0.3`, func(t *oTrace) bool { return t.duration >= 0.1 && t.duration <= 0.3 }},
		{`http.url CONTAINS "/checkout" AND !partial`, func(t *oTrace) bool {
			return strings.Contains(t.url(), "/checkout") && !t.partial()
		}},
		// The Python function's failure is its own root cause (its
		// Initialization, Invocation and Overhead subsegments have no
		// fault), so every reading of the root-cause service list agrees.
		{`rootcause.fault.service { name = "xraystarter-py" }`, func(t *oTrace) bool { return t.faultRootCauses["xraystarter-py"] }},
		{`rootcause.fault.service { last and name = "recommendation-service" }`, func(t *oTrace) bool {
			return t.faultRootCauses["recommendation-service"]
		}},
	}
}

// e2eEmptyCases match no trace: the Python function's fault is on its
// function node, never on its AWS::Lambda node.
func e2eEmptyCases() []e2eCase {
	return []e2eCase{
		{`service(id(name: "xraystarter-py", type: "AWS::Lambda")) { fault }`, serviceHas("xraystarter-py", "AWS::Lambda", isFault)},
	}
}

// e2eDiscriminators are traces the corpus must contain because on them
// the spec's rule and a plausible misreading of it disagree: without them,
// a server implementing the misreading would pass. (Hand-written traces,
// see handwrittenTraces, cover the rules the scenarios never exercise.)
func e2eDiscriminators() []e2eCase {
	return []e2eCase{
		// throttle is HasThrottle: any entity, not only segments.
		{"a throttle only on a subsegment", func(t *oTrace) bool {
			return t.throttle() && !slices.ContainsFunc(t.ents, func(e *oEnt) bool { return e.segment && e.flag("throttle") })
		}},
		// Inside service() {}, flags come from the service's own segments,
		// not from its subsegments (a failed call it handled).
		{"web-frontend with a faulted subsegment but no faulted segment", func(t *oTrace) bool {
			return t.service("web-frontend", "") != nil && !t.service("web-frontend", "").fault &&
				slices.ContainsFunc(t.ents, func(e *oEnt) bool {
					return !e.segment && e.flag("fault") && e.owner.str("name") == "web-frontend"
				})
		}},
		// A complete document is never replaced by an in-progress one,
		// even one that arrives later (the test resends them last).
		{"an in-progress document sent after its complete version", func(t *oTrace) bool { return t.lateInProgress > 0 }},
		// user is any segment's user, not only the entry's.
		{"the user on a segment other than the entry", func(t *oTrace) bool {
			return t.users["user-256749"] && t.entry.str("user") != "user-256749"
		}},
	}
}

// minMatches is how many traces every case must match at least, so that a
// set comparison means something; every discriminator must match
// minDiscriminating traces.
const (
	minMatches        = 3
	minDiscriminating = 2
)

type corpus struct {
	docs   []string // in sending order
	traces map[string]*oTrace
	// how many traces of each kind.
	nSeed, nLarge, nExtra, nHand, generated int
}

func (c *corpus) matching(f func(*oTrace) bool) []string {
	var ids []string
	for id, t := range c.traces {
		if f(t) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// buildCorpus generates 300 seed traces (100 uploads) and 400 large traces,
// and adds the hand-written ones. Some cases are rare in the large
// scenario (an entry answering 429 is about 1 in 2,000 traces), so it then
// generates more large traces and keeps those that match a case or a
// discriminator that is still short of its minimum: every case is
// exercised whatever the start times.
//
// Documents are sent as the systems emit them, except that every other
// trace is sent in reverse (parents before children, complete documents
// before in-progress ones), and every in-progress document is sent once
// more after all the others of its trace.
func buildCorpus(t *testing.T, base time.Time, cases []e2eCase) *corpus {
	t.Helper()
	seed, err := loadgen.New("seed", 7)
	if err != nil {
		t.Fatal(err)
	}
	large, err := loadgen.New("large", 7)
	if err != nil {
		t.Fatal(err)
	}
	c := &corpus{traces: map[string]*oTrace{}}
	ntraces := 0
	// sendOrder is the order a trace's documents are sent in.
	sendOrder := func(docs [][]byte) [][]byte {
		docs = slices.Clone(docs)
		if ntraces%2 == 1 {
			slices.Reverse(docs)
		}
		for _, d := range docs {
			var m struct {
				InProgress bool `json:"in_progress"`
			}
			if json.Unmarshal(d, &m) == nil && m.InProgress {
				docs = append(docs, d)
			}
		}
		return docs
	}
	eval := func(docs [][]byte) *oTrace {
		traces, err := oracle(docs)
		if err != nil || len(traces) != 1 {
			t.Fatalf("oracle: %v (%d traces)", err, len(traces))
		}
		for _, x := range traces {
			return x
		}
		return nil
	}
	// take adds a trace, its documents in sending order.
	take := func(docs [][]byte, x *oTrace) {
		if c.traces[x.id] != nil {
			t.Fatalf("trace %s generated twice", x.id)
		}
		c.traces[x.id] = x
		for _, d := range docs {
			c.docs = append(c.docs, string(d))
		}
		ntraces++
	}
	add := func(docs [][]byte) {
		sent := sendOrder(docs)
		take(sent, eval(sent))
	}
	docsOf := func(tr loadgen.Trace) [][]byte {
		docs := make([][]byte, len(tr.Docs))
		for k, d := range tr.Docs {
			docs[k] = d.JSON
		}
		return docs
	}
	for i := range 300 {
		add(docsOf(seed.Trace(i, base.Add(time.Duration(i/3)*6*time.Second))))
	}
	c.nSeed = 300
	largeStart := func(i int) time.Time { return base.Add(time.Duration(i%800) * 3 * time.Second) }
	for i := range 400 {
		add(docsOf(large.Trace(i, largeStart(i))))
	}
	c.nLarge = 400
	for _, docs := range handwrittenTraces(base.Add(41 * time.Minute)) {
		add(docs)
		c.nHand++
	}

	needs := append(slices.Clone(cases), e2eDiscriminators()...)
	minimum := func(k int) int {
		if k < len(cases) {
			return minMatches
		}
		return minDiscriminating
	}
	counts := make([]int, len(needs))
	short := 0
	for k, n := range needs {
		counts[k] = len(c.matching(n.want))
		if counts[k] < minimum(k) {
			short++
		}
	}
	const maxGenerated = 100_000
	for i := 400; short > 0 && i < maxGenerated; i++ {
		c.generated++
		sent := sendOrder(docsOf(large.Trace(i, largeStart(i))))
		x := eval(sent)
		useful := false
		for k, n := range needs {
			useful = useful || counts[k] < minimum(k) && n.want(x)
		}
		if !useful {
			continue
		}
		take(sent, x)
		c.nExtra++
		for k, n := range needs {
			if n.want(x) {
				if counts[k]++; counts[k] == minimum(k) {
					short--
				}
			}
		}
	}
	for k, n := range needs {
		if counts[k] < minimum(k) {
			t.Fatalf("%s: only %d traces in %d generated", n.expr, counts[k], c.nSeed+c.nLarge+c.generated)
		}
	}
	return c
}

// handwrittenTraces are traces for rules the scenarios never exercise,
// starting at t0, as single-line documents in sending order.
func handwrittenTraces(t0 time.Time) [][][]byte {
	ts := func(offset float64) string { return strconv.FormatFloat(float64(t0.Unix())+offset, 'f', 6, 64) }
	trace := func(k int) string { return fmt.Sprintf("1-%08x-%024x", t0.Unix(), 0xe2e000+k) }
	doc := func(format string, args ...any) []byte { return []byte(fmt.Sprintf(format, args...)) }
	return [][][]byte{
		// Work that outlives the response: a subsegment ends after its
		// segment. The duration (0.2 s) covers it; the response time is
		// 0.05 s. An annotation on a subsegment counts like any other.
		{doc(`{"trace_id":%q,"id":"e2e1000000000001","name":"e2e-async","start_time":%s,"end_time":%s,"origin":"AWS::EC2::Instance",`+
			`"http":{"request":{"method":"GET","url":"http://e2e-async/report"},"response":{"status":200}},`+
			`"subsegments":[{"id":"e2e1000000000002","name":"flush","start_time":%s,"end_time":%s,"annotations":{"customer_tier":"premium"}}]}`,
			trace(1), ts(0), ts(0.05), ts(0.01), ts(0.2))},
		// A traced call whose callee never sent its segment: partial,
		// though nothing is in progress.
		{doc(`{"trace_id":%q,"id":"e2e2000000000001","name":"e2e-caller","start_time":%s,"end_time":%s,"origin":"AWS::EC2::Instance",`+
			`"http":{"request":{"method":"POST","url":"http://e2e-caller/orders"},"response":{"status":201}},`+
			`"subsegments":[{"id":"e2e2000000000002","name":"e2e-callee.internal","start_time":%s,"end_time":%s,"namespace":"remote",`+
			`"http":{"request":{"method":"POST","url":"http://e2e-callee.internal/x","traced":true},"response":{"status":201}},`+
			`"annotations":{"order_total":750.5}}]}`,
			trace(2), ts(0), ts(0.03), ts(0.005), ts(0.025))},
		// The same with Node's top-level "traced", in an independent
		// subsegment.
		{doc(`{"trace_id":%q,"id":"e2e5000000000001","name":"e2e-node","start_time":%s,"end_time":%s,"origin":"AWS::ECS::Container",`+
			`"http":{"request":{"method":"GET","url":"http://e2e-node/"},"response":{"status":200}}}`,
			trace(5), ts(0), ts(0.03)),
			doc(`{"trace_id":%q,"id":"e2e5000000000002","name":"e2e-callee.internal","start_time":%s,"end_time":%s,"parent_id":"e2e5000000000001",`+
				`"type":"subsegment","namespace":"remote","traced":true,"http":{"request":{"method":"GET","url":"http://e2e-callee.internal/y"},"response":{"status":200}}}`,
				trace(5), ts(0.005), ts(0.025))},
		// A trace continued from an untraced caller: the entry segment's
		// parent_id names nothing in the trace, and the callee's clock runs
		// behind, so the earliest segment is not the entry. The entry has
		// the fault.
		{doc(`{"trace_id":%q,"id":"e2e3000000000001","name":"e2e-continued","start_time":%s,"end_time":%s,"parent_id":"e2e30000000000ff",`+
			`"fault":true,"origin":"AWS::EC2::Instance","http":{"request":{"method":"GET","url":"http://e2e-continued/a"},"response":{"status":500}},`+
			`"subsegments":[{"id":"e2e3000000000002","name":"e2e-child","start_time":%s,"end_time":%s,"namespace":"remote",`+
			`"http":{"request":{"method":"GET","url":"http://e2e-child/b","traced":true},"response":{"status":200}}}]}`,
			trace(3), ts(0.005), ts(0.06), ts(0.01), ts(0.05)),
			doc(`{"trace_id":%q,"id":"e2e3000000000003","name":"e2e-child","start_time":%s,"end_time":%s,"parent_id":"e2e3000000000002",`+
				`"origin":"AWS::ECS::Container","http":{"request":{"method":"GET","url":"http://e2e-child/b"},"response":{"status":200}}}`,
				trace(3), ts(0), ts(0.035))},
		// recommendation-service fails because its DynamoDB query failed:
		// the root cause is the inferred table node, so
		// recommendation-service is not the last service of the root cause.
		{doc(`{"trace_id":%q,"id":"e2e4000000000001","name":"recommendation-service","start_time":%s,"end_time":%s,"fault":true,`+
			`"origin":"AWS::EKS::Container","http":{"request":{"method":"GET","url":"http://recommendation-service:8000/recommendations"},"response":{"status":500}},`+
			`"cause":{"exceptions":[{"id":"e2e40000000000e1","type":"InternalServerError","message":"Internal server error","remote":true}]},`+
			`"subsegments":[{"id":"e2e4000000000002","name":"DynamoDB","start_time":%s,"end_time":%s,"namespace":"aws","fault":true,`+
			`"http":{"response":{"status":500}},"aws":{"operation":"Query","region":"us-east-1","table_name":"user-events"},`+
			`"cause":{"exceptions":[{"id":"e2e40000000000e2","type":"InternalServerError","message":"Internal server error","remote":true}]}}]}`,
			trace(4), ts(0), ts(0.08), ts(0.01), ts(0.07))},
	}
}
