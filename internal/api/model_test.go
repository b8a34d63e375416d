package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/xraymodel"
)

// The conformance test: every operation of the X-Ray model that the
// installed botocore carries is called with a valid input and with invalid
// ones (each required member missing, members of the wrong JSON type,
// values outside their ranges, lengths and enums, a wrong HTTP method, a
// body that is not JSON), and every answer is checked against the model:
// an answer's members and their types, enums, ranges, lengths, timestamps as
// epoch seconds; an error's __type is an exception the model declares (for
// the operation, or X-Ray's InvalidRequestException for validation), with
// the model's HTTP status.

// loadModel finds botocore's X-Ray model; under CI it must be there.
func loadModel(t *testing.T) *xraymodel.Model {
	t.Helper()
	path, err := xraymodel.Locate()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the X-Ray model must be installed under CI (python3 with botocore): %v", err)
		}
		t.Skipf("no X-Ray model: %v", err)
	}
	m, err := xraymodel.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// conformanceCall is one valid call of the scenario; input may use the
// results of the calls before it.
type conformanceCall struct {
	op    string
	input func(c *conformance) string
	check func(t *testing.T, c *conformance, out map[string]any)
}

type conformance struct {
	env      *graphEnv
	model    *xraymodel.Model
	now      time.Time
	traceID  string
	groupARN string
	ruleARN  string
	token    string
	insight  string
	invalids int // invalid calls made
}

func (c *conformance) window() string {
	return fmt.Sprintf(`"StartTime":%d,"EndTime":%d`, c.now.Add(-30*time.Minute).Unix(), c.now.Add(time.Minute).Unix())
}

// scenario is every operation in an order where each finds what it needs.
func scenario() []conformanceCall {
	str := func(s string) func(*conformance) string { return func(*conformance) string { return s } }
	return []conformanceCall{
		{op: "PutTraceSegments", input: func(c *conformance) string {
			start := float64(c.now.Add(-time.Minute).UnixMilli()) / 1000
			doc := fmt.Sprintf(`{"trace_id":%q,"id":"70de5b6f19ff9a0a","name":"conf-svc","start_time":%.3f,"end_time":%.3f,"http":{"request":{"method":"GET","url":"http://conf/"},"response":{"status":200}}}`,
				c.traceID, start, start+0.25)
			b, _ := json.Marshal(map[string][]string{"TraceSegmentDocuments": {doc}})
			return string(b)
		}},
		{op: "PutTelemetryRecords", input: func(c *conformance) string {
			return fmt.Sprintf(`{"TelemetryRecords":[{"Timestamp":%d,"SegmentsReceivedCount":3,"BackendConnectionErrors":{"TimeoutCount":0}}],"EC2InstanceId":"i-0123456789","Hostname":"h"}`, c.now.Unix())
		}},
		{op: "BatchGetTraces", input: func(c *conformance) string { return fmt.Sprintf(`{"TraceIds":[%q]}`, c.traceID) },
			check: func(t *testing.T, c *conformance, out map[string]any) {
				if tr, _ := out["Traces"].([]any); len(tr) != 1 {
					t.Errorf("BatchGetTraces: want the stored trace, got %v", out)
				}
			}},
		{op: "GetTraceSummaries", input: func(c *conformance) string { return "{" + c.window() + "}" }},
		{op: "GetTraceGraph", input: func(c *conformance) string { return fmt.Sprintf(`{"TraceIds":[%q]}`, c.traceID) }},
		{op: "CreateGroup", input: str(`{"GroupName":"conf","FilterExpression":"service(\"conf-svc\")","InsightsConfiguration":{"InsightsEnabled":true,"NotificationsEnabled":false},"Tags":[{"Key":"team","Value":"a"}]}`),
			check: func(t *testing.T, c *conformance, out map[string]any) {
				c.groupARN, _ = out["Group"].(map[string]any)["GroupARN"].(string)
			}},
		{op: "GetGroup", input: str(`{"GroupName":"conf"}`)},
		{op: "GetGroups", input: str(`{}`)},
		{op: "UpdateGroup", input: str(`{"GroupName":"conf","FilterExpression":"service(\"conf-svc\") { fault }"}`)},
		{op: "GetServiceGraph", input: func(c *conformance) string { return "{" + c.window() + `,"GroupName":"conf"}` }},
		{op: "GetTimeSeriesServiceStatistics", input: func(c *conformance) string {
			return "{" + c.window() + `,"EntitySelectorExpression":"id(name: \"conf-svc\")","Period":60,"ForecastStatistics":true}`
		}},
		{op: "CreateSamplingRule", input: str(`{"SamplingRule":{"RuleName":"conf-rule","ResourceARN":"*","Priority":10,"FixedRate":0.1,"ReservoirSize":1,"ServiceName":"conf-svc","ServiceType":"*","Host":"*","HTTPMethod":"GET","URLPath":"/api/*","Version":1,"Attributes":{"tier":"web"},"SamplingRateBoost":{"MaxRate":0.5,"CooldownWindowMinutes":1}},"Tags":[{"Key":"k","Value":"v"}]}`),
			check: func(t *testing.T, c *conformance, out map[string]any) {
				c.ruleARN, _ = out["SamplingRuleRecord"].(map[string]any)["SamplingRule"].(map[string]any)["RuleARN"].(string)
			}},
		{op: "UpdateSamplingRule", input: str(`{"SamplingRuleUpdate":{"RuleName":"conf-rule","FixedRate":0.2,"Host":"*"}}`)},
		{op: "GetSamplingRules", input: str(`{}`), check: func(t *testing.T, c *conformance, out map[string]any) {
			if r, _ := out["SamplingRuleRecords"].([]any); len(r) != 2 {
				t.Errorf("GetSamplingRules: want Default and conf-rule, got %v", out)
			}
		}},
		{op: "GetSamplingTargets", input: func(c *conformance) string {
			return fmt.Sprintf(`{"SamplingStatisticsDocuments":[{"RuleName":"conf-rule","ClientID":"0123456789abcdef01234567","Timestamp":%d,"RequestCount":10,"SampledCount":2,"BorrowCount":0}],`+
				`"SamplingBoostStatisticsDocuments":[{"RuleName":"conf-rule","ServiceName":"conf-svc","Timestamp":%[1]d,"AnomalyCount":2,"TotalCount":10,"SampledAnomalyCount":1}]}`, c.now.Unix())
		}, check: func(t *testing.T, c *conformance, out map[string]any) {
			d, _ := out["SamplingTargetDocuments"].([]any)
			if len(d) != 1 || d[0].(map[string]any)["SamplingBoost"] == nil {
				t.Errorf("GetSamplingTargets: want one target, boosted, got %v", out)
			}
		}},
		{op: "GetSamplingStatisticSummaries", input: str(`{}`)},
		{op: "TagResource", input: func(c *conformance) string {
			return fmt.Sprintf(`{"ResourceARN":%q,"Tags":[{"Key":"env","Value":"dev"}]}`, c.groupARN)
		}},
		{op: "UntagResource", input: func(c *conformance) string { return fmt.Sprintf(`{"ResourceARN":%q,"TagKeys":["team"]}`, c.groupARN) }},
		{op: "ListTagsForResource", input: func(c *conformance) string { return fmt.Sprintf(`{"ResourceARN":%q}`, c.groupARN) },
			check: func(t *testing.T, c *conformance, out map[string]any) {
				if b, _ := json.Marshal(out["Tags"]); string(b) != `[{"Key":"env","Value":"dev"}]` {
					t.Errorf("ListTagsForResource: got %s, want env=dev only", b)
				}
			}},
		{op: "PutEncryptionConfig", input: str(`{"Type":"KMS","KeyId":"alias/aws/xray"}`)},
		{op: "GetEncryptionConfig", input: str(`{}`), check: func(t *testing.T, c *conformance, out map[string]any) {
			if ec, _ := out["EncryptionConfig"].(map[string]any); ec["Type"] != "KMS" || ec["KeyId"] != "alias/aws/xray" {
				t.Errorf("GetEncryptionConfig: got %v", out)
			}
		}},
		{op: "UpdateTraceSegmentDestination", input: str(`{"Destination":"XRay"}`)},
		{op: "GetTraceSegmentDestination", input: str(`{}`)},
		{op: "UpdateIndexingRule", input: str(`{"Name":"Default","Rule":{"Probabilistic":{"DesiredSamplingPercentage":5}}}`)},
		{op: "GetIndexingRules", input: str(`{}`)},
		{op: "PutResourcePolicy", input: str(`{"PolicyName":"conf","PolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"s\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"sns.amazonaws.com\"},\"Action\":[\"xray:PutTraceSegments\"],\"Resource\":\"*\"}]}"}`)},
		{op: "ListResourcePolicies", input: str(`{}`)},
		{op: "StartTraceRetrieval", input: func(c *conformance) string { return fmt.Sprintf(`{"TraceIds":[%q],%s}`, c.traceID, c.window()) },
			check: func(t *testing.T, c *conformance, out map[string]any) { c.token, _ = out["RetrievalToken"].(string) }},
		{op: "ListRetrievedTraces", input: func(c *conformance) string { return fmt.Sprintf(`{"RetrievalToken":%q}`, c.token) },
			check: func(t *testing.T, c *conformance, out map[string]any) {
				if tr, _ := out["Traces"].([]any); out["RetrievalStatus"] != "COMPLETE" || len(tr) != 1 {
					t.Errorf("ListRetrievedTraces: want the trace, COMPLETE; got %v", out)
				}
			}},
		{op: "ListRetrievedTraces", input: func(c *conformance) string { return fmt.Sprintf(`{"RetrievalToken":%q,"TraceFormat":"OTEL"}`, c.token) },
			check: func(t *testing.T, c *conformance, out map[string]any) {
				tr, _ := out["Traces"].([]any)
				if len(tr) != 1 || out["TraceFormat"] != "OTEL" {
					t.Fatalf("ListRetrievedTraces OTEL: got %v", out)
				}
				sp := tr[0].(map[string]any)["Spans"].([]any)
				var doc map[string]any
				if len(sp) != 1 || json.Unmarshal([]byte(sp[0].(map[string]any)["Document"].(string)), &doc) != nil || doc["spanId"] != "70de5b6f19ff9a0a" {
					t.Errorf("OTEL spans %v", sp)
				}
			}},
		{op: "GetRetrievedTracesGraph", input: func(c *conformance) string { return fmt.Sprintf(`{"RetrievalToken":%q}`, c.token) }},
		{op: "CancelTraceRetrieval", input: func(c *conformance) string { return fmt.Sprintf(`{"RetrievalToken":%q}`, c.token) }},
		{op: "GetInsightSummaries", input: func(c *conformance) string { return "{" + c.window() + "}" },
			check: func(t *testing.T, c *conformance, out map[string]any) {
				if s, _ := out["InsightSummaries"].([]any); len(s) > 0 {
					c.insight, _ = s[0].(map[string]any)["InsightId"].(string)
				}
			}},
		{op: "GetInsight", input: func(c *conformance) string { return fmt.Sprintf(`{"InsightId":%q}`, c.insight) }},
		{op: "GetInsightEvents", input: func(c *conformance) string { return fmt.Sprintf(`{"InsightId":%q,"MaxResults":10}`, c.insight) }},
		{op: "GetInsightImpactGraph", input: func(c *conformance) string {
			return fmt.Sprintf(`{"InsightId":%q,%s}`, c.insight, c.window())
		}},
		{op: "DeleteResourcePolicy", input: str(`{"PolicyName":"conf"}`)},
		{op: "DeleteSamplingRule", input: str(`{"RuleName":"conf-rule"}`)},
		{op: "DeleteGroup", input: str(`{"GroupName":"conf"}`)},
	}
}

func TestModelConformance(t *testing.T) {
	m := loadModel(t)
	calls := scenario()
	var missing []string
	for name := range m.Operations {
		if !slices.ContainsFunc(calls, func(c conformanceCall) bool { return c.op == name }) {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("the X-Ray model has operations this test (and so the server) does not cover: %v", missing)
	}
	env := startGraphEnv(t, t.TempDir())
	c := &conformance{env: env, model: m, now: time.Now().UTC(), traceID: fmt.Sprintf("1-%08x-0123456789abcdef01234567", time.Now().Unix())}
	c.insight = seedInsight(t, env, c.now)
	for _, call := range calls {
		op, ok := m.Operations[call.op]
		if !ok {
			t.Errorf("%s: not in the model", call.op)
			continue
		}
		in := call.input(c)
		if err := m.Validate(op.Input.Shape, mustDecode(t, in), xraymodel.Input); err != nil {
			t.Fatalf("%s: the test's valid input breaks the model: %v", call.op, err)
		}
		status, hdr, out := c.call(t, op.HTTP.Method, op.HTTP.RequestURI, in)
		if status != http.StatusOK {
			t.Errorf("%s %s: status %d %s", call.op, in, status, out)
			continue
		}
		c.checkOutput(t, op, out)
		if hdr.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s: no x-amzn-RequestId", call.op)
		}
		if call.check != nil {
			var o map[string]any
			if err := json.Unmarshal(out, &o); err != nil {
				t.Fatal(err)
			}
			call.check(t, c, o)
		}
		c.invalidCalls(t, op, in)
	}
	// Every operation has required members or constrained ones: a few
	// hundred broken variants in all.
	if c.invalids < 200 {
		t.Errorf("only %d invalid calls were made", c.invalids)
	}
	t.Logf("%d operations, %d invalid variants", len(calls), c.invalids)
}

// invalidCalls sends broken variants of a valid input: each must be a
// modeled error.
func (c *conformance) invalidCalls(t *testing.T, op xraymodel.Operation, valid string) {
	t.Helper()
	for _, bad := range c.mutations(op.Input.Shape, mustDecode(t, valid), nil) {
		b, _ := json.Marshal(bad.value)
		c.invalids++
		status, _, out := c.call(t, op.HTTP.Method, op.HTTP.RequestURI, string(b))
		if status == http.StatusOK {
			t.Errorf("%s with %s (%s): status 200 %s; want an error", op.Name, bad.what, b, out)
			continue
		}
		c.checkError(t, op, status, out, bad.what)
	}
	bodies := []string{`{`, `[]`, `"x"`}
	if sh := c.model.Shapes[op.Input.Shape]; len(sh.Required) > 0 {
		bodies = append(bodies, `null`, ``) // no members at all
	}
	for _, body := range bodies {
		status, _, out := c.call(t, op.HTTP.Method, op.HTTP.RequestURI, body)
		if status != 400 {
			t.Errorf("%s with body %s: status %d %s; want 400", op.Name, body, status, out)
		}
		c.checkError(t, op, status, out, "body "+body)
	}
	status, _, out := c.call(t, http.MethodGet, op.HTTP.RequestURI, "")
	if status < 400 || status >= 500 {
		t.Errorf("%s with GET: status %d %s; want a client error", op.Name, status, out)
	}
	checkErrorBody(t, op.Name+" with GET", out)
}

type mutation struct {
	what  string
	value any
}

// mutations are invalid variants of v (of shape name): each required
// member removed, each member given the wrong JSON type, each constrained
// value pushed outside its range, length or enum. path locates v in root.
func (c *conformance) mutations(name string, v any, set func(any) any) []mutation {
	s := c.model.Shapes[name]
	if set == nil {
		set = func(x any) any { return x }
	}
	var out []mutation
	add := func(what string, nv any) { out = append(out, mutation{what, set(nv)}) }
	switch s.Type {
	case "structure":
		obj, _ := v.(map[string]any)
		for _, r := range s.Required {
			cp := cloneMap(obj)
			delete(cp, r)
			add("no "+r, cp)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ref, ok := s.Members[k]
			if !ok {
				continue
			}
			k := k
			sub := func(nv any) any {
				cp := cloneMap(obj)
				cp[k] = nv
				return set(cp)
			}
			for _, m := range c.mutations(ref.Shape, obj[k], sub) {
				m.what = k + ": " + m.what
				out = append(out, m)
			}
		}
	case "list":
		arr, _ := v.([]any)
		add("an object for a list", map[string]any{})
		if s.Max != nil && len(arr) > 0 {
			long := make([]any, int(*s.Max)+1)
			for i := range long {
				long[i] = arr[0]
			}
			add("a list longer than its max", long)
		}
		if s.Min != nil && *s.Min > 0 {
			add("a list shorter than its min", []any{})
		}
		if len(arr) > 0 {
			sub := func(nv any) any {
				cp := slices.Clone(arr)
				cp[0] = nv
				return set(cp)
			}
			out = append(out, c.mutations(s.Member.Shape, arr[0], sub)...)
		}
	case "map":
		add("a list for a map", []any{})
	case "string":
		add("a number for a string", json.Number("7"))
		if s.Max != nil {
			add("a string longer than its max", strings.Repeat("a", int(*s.Max)+1))
		}
		if s.Min != nil && *s.Min > 0 {
			add("a string shorter than its min", strings.Repeat("a", int(*s.Min)-1))
		}
		if len(s.Enum) > 0 {
			add("a value outside the enum", "NotAnEnumValue")
		}
	case "integer", "long", "double", "float":
		add("a string for a number", "x")
		if s.Min != nil {
			add("a number below its min", json.Number(fmt.Sprint(*s.Min-1)))
		}
		if s.Max != nil {
			add("a number above its max", json.Number(fmt.Sprint(*s.Max+1)))
		}
		if s.Type == "integer" || s.Type == "long" {
			add("a fraction for a whole number", json.Number("1.5"))
		}
	case "boolean":
		add("a string for a boolean", "yes")
	case "timestamp":
		add("a boolean for a timestamp", true)
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	return cp
}

func (c *conformance) call(t *testing.T, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.env.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.env.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func (c *conformance) checkOutput(t *testing.T, op xraymodel.Operation, out []byte) {
	t.Helper()
	if op.Output == nil {
		return
	}
	v, err := xraymodel.Decode(out)
	if err != nil {
		t.Errorf("%s: answer is not JSON: %v: %s", op.Name, err, out)
		return
	}
	allowDefaultPriority(v)
	if err := c.model.Validate(op.Output.Shape, v, xraymodel.Output); err != nil {
		t.Errorf("%s: answer breaks the model: %v\n%s", op.Name, err, out)
	}
}

// checkError checks an error answer: a modeled exception with its status.
func (c *conformance) checkError(t *testing.T, op xraymodel.Operation, status int, out []byte, what string) {
	t.Helper()
	typ := checkErrorBody(t, op.Name+" with "+what, out)
	if typ == "" {
		return
	}
	modeled := typ == "InvalidRequestException" || slices.ContainsFunc(op.Errors, func(r xraymodel.Ref) bool { return r.Shape == typ })
	sh := c.model.Shapes[typ]
	if !modeled || sh == nil || !sh.Exception {
		t.Errorf("%s with %s: __type %q is not an error the model declares for it", op.Name, what, typ)
		return
	}
	if sh.HTTPStatus() != status {
		t.Errorf("%s with %s: %s with status %d; the model says %d", op.Name, what, typ, status, sh.HTTPStatus())
	}
}

// checkErrorBody checks X-Ray's error envelope and returns its __type.
func checkErrorBody(t *testing.T, what string, out []byte) string {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(out, &e); err != nil {
		t.Errorf("%s: error body is not JSON: %s", what, out)
		return ""
	}
	typ, _ := e["__type"].(string)
	msg, _ := e["message"].(string)
	if typ == "" || msg == "" {
		t.Errorf("%s: error body without __type or message: %s", what, out)
	}
	return typ
}

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	v, err := xraymodel.Decode([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// allowDefaultPriority accepts X-Ray's one known departure from its model:
// the Default sampling rule has Priority 10000 (the SDKs' fallback rule and
// X-Ray's answers say so), above the model's 9999, so that it sorts after
// every rule.
func allowDefaultPriority(v any) {
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["RuleName"] == "Default" && x["Priority"] == json.Number("10000") {
				x["Priority"] = json.Number("9999")
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// TestModelInputsCurrent: the model the API validates requests with is the
// installed botocore's (else: go generate ./internal/api).
func TestModelInputsCurrent(t *testing.T) {
	m := loadModel(t)
	js, err := xraymodel.InputsJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != api.ModelInputs {
		t.Errorf("internal/api/model_inputs.go is not the installed botocore's X-Ray model: run go generate ./internal/api")
	}
}
