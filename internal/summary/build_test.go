package summary

import (
	"slices"
	"strings"
	"testing"
)

// A two-service HTTP trace: web (EC2) calls api (ECS) through a traced
// remote subsegment named after the host.
var (
	webDoc = `{"trace_id":"$T","id":"00000000000000a1","name":"web","origin":"AWS::EC2::Instance",
		"start_time":10,"end_time":10.1,"user":"alice",
		"http":{"request":{"method":"GET","url":"http://web.example.com/cart","user_agent":"curl/8","client_ip":"10.0.0.9"},"response":{"status":200}},
		"aws":{"account_id":"111111111111","ec2":{"instance_id":"i-0abc","availability_zone":"us-east-1a"}},
		"annotations":{"customer":"acme","tier":1},
		"subsegments":[{"id":"00000000000000b1","name":"api.internal","namespace":"remote","start_time":10.01,"end_time":10.09,
			"http":{"request":{"method":"POST","url":"http://api.internal/items","traced":true},"response":{"status":201}}}]}`
	apiDoc = `{"trace_id":"$T","id":"00000000000000a2","name":"api","origin":"AWS::ECS::Container","parent_id":"00000000000000b1",
		"start_time":10.02,"end_time":10.085,"user":"alice",
		"http":{"request":{"method":"POST","url":"http://api.internal/items"},"response":{"status":201}},
		"annotations":{"customer":"acme","tier":2,"cached":false},
		"resource_arn":"arn:aws:ecs:us-east-1:111111111111:task/api"}`
)

func TestTwoServices(t *testing.T) {
	s := Build(testTraceID, decodeDocs(t, webDoc, apiDoc), 4)
	if got, want := graphOf(s), "web/AWS::EC2::Instance*(1) api/AWS::ECS::Container(1) |"+
		" client->web/AWS::EC2::Instance(1) web/AWS::EC2::Instance->api/AWS::ECS::Container(1)[api.internal]"; got != want {
		t.Errorf("graph:\n got %s\nwant %s", got, want)
	}
	start, end := 10.0, 10.1
	want := Summary{
		TraceID: testTraceID, Revision: 5, Documents: 2,
		Start: start, End: end, Duration: end - start, ResponseTime: end - start,
		FirstSeen: 1e6, LastSeen: 2e6,
		Entry: 0,
		HTTP:  HTTP{URL: "http://web.example.com/cart", Method: "GET", UserAgent: "curl/8", ClientIP: "10.0.0.9", Status: 200},
		Users: []User{{Name: "alice", Nodes: []int32{0, 1}}},

		ResourceARNs:      []string{"arn:aws:ecs:us-east-1:111111111111:task/api"},
		InstanceIDs:       []string{"i-0abc"},
		AvailabilityZones: []string{"us-east-1a"},
	}
	got := *s
	got.Nodes, got.Edges, got.Annotations, got.ResponseTimeRootCauses = nil, nil, nil, nil
	if d := diff(want, got); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if got, want := annotationsOf(s), `customer="acme"[0 1] tier=1[0] tier=2[1] cached=false[1]`; got != want {
		t.Errorf("annotations: got %s, want %s", got, want)
	}

	web, api := s.Nodes[0], s.Nodes[1]
	if web.AccountID != "111111111111" || !web.Root || api.Root || !slices.Equal(api.Names, []string{"api", "api.internal"}) {
		t.Errorf("nodes: %+v", s.Nodes)
	}
	if !web.Ok || web.Error || web.Fault || web.ResponseTime != end-start || web.HTTP.Status != 200 {
		t.Errorf("web: %+v", web)
	}
	call := s.Edges[1].Calls[0]
	if want := (Call{ID: 0xb1, Start: 10.01, End: 10.09, Status: 201}); call != want {
		t.Errorf("web->api call: got %+v, want %+v (the caller's subsegment)", call, want)
	}
	if e := s.Edges[1]; e.HTTP.URL != "http://api.internal/items" || e.HTTP.Method != "POST" || e.ResponseTime != call.End-call.Start {
		t.Errorf("web->api edge: %+v", e)
	}
	if client := s.Edges[0].Calls[0]; client.ID != 0xa1 || client.Status != 200 {
		t.Errorf("client edge call: %+v, want the entry segment", client)
	}
	// web 0.1 s > api.internal 0.08 s (80%) > api 0.065 s (65%): the path
	// stops there, api's segment having no children.
	if got, want := rootCausesOf(s.ResponseTimeRootCauses),
		"web/AWS::EC2::Instance{web@1.00,api.internal^@0.80}>api/AWS::ECS::Container{api@0.65}!"; got != want {
		t.Errorf("response time root causes:\n got %s\nwant %s", got, want)
	}
	if s.FaultRootCauses != nil || s.ErrorRootCauses != nil {
		t.Errorf("unexpected root causes: %s / %s", rootCausesOf(s.FaultRootCauses), rootCausesOf(s.ErrorRootCauses))
	}
}

// TestCalleeLater covers a traced call whose callee's segment arrives later:
// partial with an inferred node until then.
func TestCalleeLater(t *testing.T) {
	s := build(t, webDoc)
	if got, want := graphOf(s), "web/AWS::EC2::Instance*(1) api.internal/remote~(1) |"+
		" client->web/AWS::EC2::Instance(1) web/AWS::EC2::Instance->api.internal/remote(1)"; got != want {
		t.Errorf("graph:\n got %s\nwant %s", got, want)
	}
	if !s.IsPartial || !s.HasInferred {
		t.Errorf("web alone: IsPartial %v HasInferred %v, want both", s.IsPartial, s.HasInferred)
	}
	if r := s.Nodes[1].Requests; len(r) != 1 || r[0] != s.Edges[1].Calls[0] {
		t.Errorf("inferred node requests %+v, want the edge's call %+v", r, s.Edges[1].Calls)
	}
	s = build(t, webDoc, apiDoc)
	if s.IsPartial || s.HasInferred {
		t.Errorf("with api: IsPartial %v HasInferred %v, want neither", s.IsPartial, s.HasInferred)
	}
	// Order of arrival does not matter.
	s2 := build(t, apiDoc, webDoc)
	if graphOf(s2) != graphOf(s) || s2.Entry != s.Entry || s2.IsPartial {
		t.Errorf("api first:\n got %s\nwant %s", graphOf(s2), graphOf(s))
	}
	// Alone, api is its own entry point: its parent is not in the trace.
	s = build(t, apiDoc)
	if got, want := graphOf(s), "api/AWS::ECS::Container*(1) | client->api/AWS::ECS::Container(1)"; got != want {
		t.Errorf("api alone: got %s, want %s", got, want)
	}
}

func TestInProgressThenComplete(t *testing.T) {
	inProgress := `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":10,"in_progress":true,
		"annotations":{"stage":"started"}}`
	complete := `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":10,"end_time":10.5,
		"http":{"response":{"status":200}},"annotations":{"stage":"done"}}`
	docs := decodeDocs(t, inProgress, complete)

	s1 := Build(testTraceID, docs[:1], 0)
	if !s1.IsPartial || s1.Revision != 1 || s1.ResponseTime != 0 || s1.End != 10 || s1.Nodes[0].Ok ||
		!s1.Nodes[0].Requests[0].InProgress || s1.ResponseTimeRootCauses != nil {
		t.Errorf("in progress: %+v", s1)
	}
	s2 := Build(testTraceID, docs, s1.Revision)
	if s2.IsPartial || s2.Revision != 2 || s2.ResponseTime != 0.5 || s2.Duration != 0.5 || s2.Documents != 2 ||
		!s2.Nodes[0].Ok || len(s2.Nodes[0].Requests) != 1 || s2.LastSeen != 2e6 {
		t.Errorf("complete: %+v", s2)
	}
	if got := annotationsOf(s2); got != `stage="done"[0]` {
		t.Errorf("annotations %s: only the winning version counts", got)
	}
	// A late in-progress copy never replaces the complete one.
	s3 := Build(testTraceID, []Doc{docs[0], docs[1], {Seg: docs[0].Seg, Received: 3e6}}, s2.Revision)
	if s3.IsPartial || s3.ResponseTime != 0.5 || s3.Revision != 3 || s3.Documents != 3 || s3.LastSeen != 3e6 {
		t.Errorf("late in-progress copy: %+v", s3)
	}
}

func TestDuplicates(t *testing.T) {
	once := build(t, webDoc, apiDoc)
	// The later copies win, but first-seen order follows the first copies.
	twice := build(t, webDoc, apiDoc, apiDoc, webDoc)
	twice.Documents, twice.LastSeen = once.Documents, once.LastSeen
	if d := diff(once, twice); d != "" {
		t.Errorf("duplicates changed the summary (-once +twice):\n%s", d)
	}
}

// TestGoStreaming: the Go SDK streams completed subsegments before their
// segment, a grandchild before its parent.
func TestGoStreaming(t *testing.T) {
	sub := func(id, parent, name, extra string) string {
		return `{"type":"subsegment","trace_id":"$T","id":"` + id + `","parent_id":"` + parent + `","name":"` + name +
			`","start_time":10.1,"end_time":10.2` + extra + `}`
	}
	grandchild := sub("00000000000000c3", "00000000000000c2", "PutItem-retry", `,"annotations":{"retry":true}`)
	ddb := sub("00000000000000c2", "00000000000000a1", "DynamoDB", `,"namespace":"aws","aws":{"table_name":"orders","operation":"PutItem"}`)
	local := sub("00000000000000c1", "00000000000000a1", "render", `,"throttle":true`)
	seg := `{"trace_id":"$T","id":"00000000000000a1","name":"api","start_time":10,"end_time":11,"subsegments":[
		{"id":"00000000000000c4","name":"embedded","start_time":10.3,"end_time":10.4}]}`

	partial := build(t, grandchild, ddb, local)
	if !partial.IsPartial || partial.Entry != -1 || partial.Nodes != nil || partial.Edges != nil || !partial.HasInferred {
		t.Errorf("before the segment: IsPartial %v Entry %d graph %s HasInferred %v",
			partial.IsPartial, partial.Entry, graphOf(partial), partial.HasInferred)
	}
	if got := annotationsOf(partial); got != "retry=true[]" {
		t.Errorf("orphan annotations: %s", got)
	}
	if !partial.HasThrottle || partial.Start != 10.1 || partial.End != 10.2 {
		t.Errorf("orphans count at trace level: %+v", partial)
	}

	s := build(t, grandchild, ddb, local, seg)
	if got, want := graphOf(s), "api/*(1) orders/AWS::DynamoDB::Table~(1) | client->api/(1) api/->orders/AWS::DynamoDB::Table(1)"; got != want {
		t.Errorf("graph:\n got %s\nwant %s", got, want)
	}
	if s.IsPartial || !s.HasThrottle || s.HasError || s.Start != 10 || s.End != 11 || s.Documents != 4 {
		t.Errorf("complete: %+v", s)
	}
	if got := annotationsOf(s); got != "retry=true[0]" {
		t.Errorf("a streamed grandchild's annotation belongs to api: %s", got)
	}
}

// Lambda: the service segment (async: 202, Dwell Time, Attempt #1), the
// function segment under it, and the SDK's DynamoDB call from the function
// sent as an independent subsegment of the facade (= the function segment).
const (
	lambdaService = `{"trace_id":"$T","id":"00000000000000f1","name":"fn","origin":"AWS::Lambda",
		"start_time":20,"end_time":20.5,"http":{"response":{"status":202}},"aws":{"request_id":"r-1"},
		"resource_arn":"arn:aws:lambda:us-east-1:123456789012:function:fn",
		"subsegments":[{"id":"00000000000000f2","name":"Dwell Time","start_time":20,"end_time":20.05},
			{"id":"00000000000000f3","name":"Attempt #1","start_time":20.05,"end_time":20.5}]}`
	lambdaFunction = `{"trace_id":"$T","id":"00000000000000e1","name":"fn","origin":"AWS::Lambda::Function","parent_id":"00000000000000f1",
		"start_time":20.06,"end_time":20.45,
		"aws":{"account_id":"123456789012","function_arn":"arn:aws:lambda:us-east-1:123456789012:function:fn","resource_names":["fn"]},
		"annotations":{"aws:responseLatency":380.5},
		"subsegments":[{"id":"00000000000000e2","name":"Initialization","start_time":19.8,"end_time":20.05},
			{"id":"00000000000000e3","name":"Invocation","start_time":20.07,"end_time":20.4},
			{"id":"00000000000000e4","name":"Overhead","start_time":20.41,"end_time":20.44}]}`
	lambdaDynamo = `{"type":"subsegment","trace_id":"$T","id":"00000000000000d1","parent_id":"00000000000000e1",
		"name":"DynamoDB","namespace":"aws","start_time":20.1,"end_time":20.3,
		"http":{"response":{"status":200}},"aws":{"operation":"PutItem","table_name":"items"}}`
	lambdaFailing = `{"trace_id":"$T","id":"00000000000000e1","name":"fn","origin":"AWS::Lambda::Function","parent_id":"00000000000000f1",
		"start_time":20.06,"end_time":20.45,"fault":true,
		"aws":{"account_id":"123456789012","function_arn":"arn:aws:lambda:us-east-1:123456789012:function:fn"},
		"cause":{"working_directory":"/var/task","exceptions":[{"id":"1111111111111111","type":"Runtime.ImportModuleError",
			"message":"Unable to import module 'lambda_function': No module named 'aws_xray_sdk'"}]},
		"subsegments":[{"id":"00000000000000e3","name":"Invocation","start_time":20.07,"end_time":20.4},
			{"id":"00000000000000e4","name":"Overhead","start_time":20.41,"end_time":20.44}]}`
)

func TestLambda(t *testing.T) {
	s := build(t, lambdaDynamo, lambdaFunction, lambdaService)
	if got, want := graphOf(s), "fn/AWS::Lambda*(1) fn/AWS::Lambda::Function(1) items/AWS::DynamoDB::Table~(1) |"+
		" client->fn/AWS::Lambda(1) fn/AWS::Lambda->fn/AWS::Lambda::Function(1)"+
		" fn/AWS::Lambda::Function->items/AWS::DynamoDB::Table(1)"; got != want {
		t.Errorf("graph:\n got %s\nwant %s", got, want)
	}
	if s.HTTP.Status != 202 || s.HasFault || s.IsPartial || s.ResponseTime != 0.5 {
		t.Errorf("summary: %+v", s)
	}
	if want := []string{"arn:aws:lambda:us-east-1:123456789012:function:fn"}; !slices.Equal(s.ResourceARNs, want) {
		t.Errorf("ResourceARNs %v, want %v", s.ResourceARNs, want)
	}
	fn := nodeIndex(t, s, "fn", "AWS::Lambda::Function")
	if s.Nodes[fn].AccountID != "123456789012" || s.Nodes[s.Entry].AccountID != "" {
		t.Errorf("accounts: %+v", s.Nodes)
	}
	if c := s.Edges[1].Calls[0]; c.ID != 0xf1 || c.Status != 202 {
		t.Errorf("Lambda->Function call %+v: want the service segment", c)
	}
	if got := annotationsOf(s); got != "aws:responseLatency=380.5["+string(rune('0'+fn))+"]" {
		t.Errorf("annotations: %s", got)
	}
	// Attempt #1 (0.45 s) is longer than the function segment (0.39 s).
	if got, want := rootCausesOf(s.ResponseTimeRootCauses), "fn/AWS::Lambda{fn@1.00,Attempt #1@0.90}!"; got != want {
		t.Errorf("response time root causes:\n got %s\nwant %s", got, want)
	}

	// A failing DynamoDB call: its path goes through Invocation, where
	// Compile nests the function's SDK subsegments.
	failing := strings.Replace(lambdaDynamo, `"name":"DynamoDB"`, `"fault":true,"name":"DynamoDB"`, 1)
	s = build(t, failing, lambdaFunction, lambdaService)
	if got, want := rootCausesOf(s.FaultRootCauses), "fn/AWS::Lambda{fn}>fn/AWS::Lambda::Function{fn,Invocation,DynamoDB^}>"+
		"items/AWS::DynamoDB::Table~{DynamoDB^}"; got != want {
		t.Errorf("fault root causes:\n got %s\nwant %s", got, want)
	}
}

// TestLambdaImportError is the seed scenario's failing Python function: a
// fault on the function node, not on the trace (the service answered 202).
func TestLambdaImportError(t *testing.T) {
	s := build(t, lambdaFailing, lambdaService)
	fn := nodeIndex(t, s, "fn", "AWS::Lambda::Function")
	if s.HasFault || s.HasError || !s.Nodes[fn].Fault || s.Nodes[fn].Ok || s.Nodes[s.Entry].Fault || !s.Nodes[s.Entry].Ok {
		t.Errorf("HasFault %v, function node %+v, entry node %+v", s.HasFault, s.Nodes[fn], s.Nodes[s.Entry])
	}
	if got, want := rootCausesOf(s.FaultRootCauses), "fn/AWS::Lambda{fn}>fn/AWS::Lambda::Function{fn(Runtime.ImportModuleError: "+
		"Unable to import module 'lambda_function': No module named 'aws_xray_sdk')}"; got != want {
		t.Errorf("fault root causes:\n got %s\nwant %s", got, want)
	}
	// The edge is the caller's view: the service segment, which did not fault.
	if e := s.Edges[1]; e.Fault || !e.Ok {
		t.Errorf("Lambda->Function edge %+v", e)
	}
}

// TestFaultChain: a fault propagating through three services; the root
// cause is the deepest faulted entity, with the whole service path.
func TestFaultChain(t *testing.T) {
	a := `{"trace_id":"$T","id":"0000000000000001","name":"A","start_time":1,"end_time":2,"fault":true,"http":{"response":{"status":500}},
		"subsegments":[{"id":"0000000000000011","name":"B","namespace":"remote","start_time":1.1,"end_time":1.9,"fault":true,
			"http":{"request":{"traced":true},"response":{"status":500}},
			"cause":{"exceptions":[{"id":"aaaaaaaaaaaaaaaa","type":"HTTPError","message":"500 from B","remote":true}]}}]}`
	b := `{"trace_id":"$T","id":"0000000000000002","name":"B","parent_id":"0000000000000011","start_time":1.2,"end_time":1.8,"fault":true,
		"subsegments":[{"id":"0000000000000021","name":"handler","start_time":1.25,"end_time":1.75,"fault":true,
			"subsegments":[{"id":"0000000000000022","name":"C","namespace":"remote","start_time":1.3,"end_time":1.7,"fault":true,
				"http":{"request":{"traced":true},"response":{"status":503}}}]}]}`
	c := `{"trace_id":"$T","id":"0000000000000003","name":"C","parent_id":"0000000000000022","start_time":1.35,"end_time":1.65,"fault":true,
		"cause":{"exceptions":[{"id":"cccccccccccccccc","type":"DiskFull","message":"no space left"}]},
		"subsegments":[{"id":"0000000000000031","name":"query","start_time":1.4,"end_time":1.5}]}`
	s := build(t, c, a, b)
	if !s.HasFault || s.HTTP.Status != 500 {
		t.Errorf("HasFault %v status %d", s.HasFault, s.HTTP.Status)
	}
	if got, want := rootCausesOf(s.FaultRootCauses), "A/{A,B^}>B/{B,handler,C^}>C/{C(DiskFull: no space left)}!"; got != want {
		t.Errorf("fault root causes:\n got %s\nwant %s", got, want)
	}
	for _, name := range []string{"A", "B", "C"} {
		if n := s.Nodes[nodeIndex(t, s, name, "")]; !n.Fault || n.Ok {
			t.Errorf("node %s: %+v", name, n)
		}
	}
	// If C had not faulted, the root cause is B's call to it.
	s = build(t, strings.Replace(c, `"fault":true`, `"fault":false`, 1), a, b)
	if got, want := rootCausesOf(s.FaultRootCauses), "A/{A,B^}>B/{B,handler,C^}!"; got != want {
		t.Errorf("C ok:\n got %s\nwant %s", got, want)
	}
}

// TestThrottle: a 429 at the entry is an error and a throttle, not a fault;
// a throttled downstream call makes HasThrottle only.
func TestThrottle(t *testing.T) {
	s := build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":1.01,
		"error":true,"throttle":true,"http":{"response":{"status":429}}}`)
	if !s.HasError || !s.HasThrottle || s.HasFault || s.HTTP.Status != 429 {
		t.Errorf("429: %+v", s)
	}
	if n := s.Nodes[0]; !n.Error || !n.Throttle || n.Ok || n.Fault {
		t.Errorf("node: %+v", n)
	}
	if e := s.Edges[0]; !e.Error || !e.Throttle || e.Ok {
		t.Errorf("client edge: %+v", e)
	}
	if got, want := rootCausesOf(s.ErrorRootCauses), "web/{web}!"; got != want {
		t.Errorf("error root causes: got %s, want %s", got, want)
	}

	s = build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":1.5,
		"subsegments":[{"id":"00000000000000b1","name":"DynamoDB","namespace":"aws","start_time":1.1,"end_time":1.2,
			"error":true,"throttle":true,"http":{"response":{"status":400}},"aws":{"table_name":"hot","operation":"GetItem"},
			"cause":{"exceptions":[{"id":"bbbbbbbbbbbbbbbb","type":"ProvisionedThroughputExceededException","message":"slow down","remote":true}]}}]}`)
	if s.HasError || !s.HasThrottle || s.HasFault {
		t.Errorf("downstream throttle: HasError %v HasThrottle %v HasFault %v", s.HasError, s.HasThrottle, s.HasFault)
	}
	hot := s.Nodes[nodeIndex(t, s, "hot", "AWS::DynamoDB::Table")]
	if !hot.Inferred || !hot.Throttle || !hot.Error {
		t.Errorf("inferred node: %+v", hot)
	}
	// Handled upstream: a root cause, not client impacting.
	if got, want := rootCausesOf(s.ErrorRootCauses), "web/{web,DynamoDB^}>hot/AWS::DynamoDB::Table~{DynamoDB^"+
		"(ProvisionedThroughputExceededException: slow down)}"; got != want {
		t.Errorf("error root causes:\n got %s\nwant %s", got, want)
	}
}

func TestRemoteUninstrumented(t *testing.T) {
	s := build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":1.5,
		"subsegments":[{"id":"00000000000000b1","name":"api.example.com","namespace":"remote","start_time":1.1,"end_time":1.4,
			"http":{"request":{"method":"GET","url":"https://api.example.com/v1"},"response":{"status":200}}},
		{"id":"00000000000000b2","name":"compute","start_time":1.41,"end_time":1.45}]}`)
	if got, want := graphOf(s), "web/*(1) api.example.com/remote~(1) | client->web/(1) web/->api.example.com/remote(1)"; got != want {
		t.Errorf("graph:\n got %s\nwant %s", got, want)
	}
	if !s.HasInferred || s.IsPartial {
		t.Errorf("HasInferred %v IsPartial %v", s.HasInferred, s.IsPartial)
	}
	if e := s.Edges[1]; e.HTTP.URL != "https://api.example.com/v1" || !e.Ok || e.Calls[0].Status != 200 {
		t.Errorf("edge: %+v", e)
	}
	if got, want := rootCausesOf(s.ResponseTimeRootCauses),
		"web/{web@1.00,api.example.com^@0.60}>api.example.com/remote~{api.example.com^@0.60}!"; got != want {
		t.Errorf("response time root causes:\n got %s\nwant %s", got, want)
	}
}

func TestAnnotationKeyLimit(t *testing.T) {
	var b strings.Builder
	for i := range 60 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":1`)
	}
	s := build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":2,"annotations":{`+b.String()+`}}`,
		`{"trace_id":"$T","id":"00000000000000a2","name":"web2","start_time":1,"end_time":2,"annotations":{"kaa":2,"new":1}}`)
	keys := map[string]bool{}
	for _, a := range s.Annotations {
		keys[a.Key] = true
	}
	if len(keys) != MaxAnnotationKeys || len(s.Annotations) != MaxAnnotationKeys+1 || keys["new"] {
		t.Errorf("%d keys, %d values; want %d keys and kaa=2 kept, new dropped", len(keys), len(s.Annotations), MaxAnnotationKeys)
	}
}

// TestOrphan: an independent subsegment whose parent never arrives belongs
// to no node, but counts at trace level.
func TestOrphan(t *testing.T) {
	s := build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":2}`,
		`{"type":"subsegment","trace_id":"$T","id":"00000000000000c1","parent_id":"0000000000000999","name":"lost",
			"namespace":"aws","start_time":1.5,"end_time":3,"throttle":true,"error":true,"user":"bob",
			"annotations":{"lost":true},"aws":{"table_name":"t"}}`)
	if got, want := graphOf(s), "web/*(1) | client->web/(1)"; got != want {
		t.Errorf("graph: got %s, want %s", got, want)
	}
	if !s.IsPartial || !s.HasThrottle || s.HasError || !s.HasInferred || s.End != 3 {
		t.Errorf("trace level: %+v", s)
	}
	if got := annotationsOf(s); got != "lost=true[]" {
		t.Errorf("annotations: %s", got)
	}
	if len(s.Users) != 1 || s.Users[0].Name != "bob" || s.Users[0].Nodes != nil {
		t.Errorf("users: %+v", s.Users)
	}
	if s.ErrorRootCauses != nil {
		t.Errorf("orphan root cause: %s", rootCausesOf(s.ErrorRootCauses))
	}
}

// TestLinks: an SQS consumer linking to the producer's SendMessage call in
// the same trace gets a link edge from the queue.
func TestLinks(t *testing.T) {
	s := build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"producer","start_time":1,"end_time":2,
		"subsegments":[{"id":"00000000000000b1","name":"SQS","namespace":"aws","start_time":1.1,"end_time":1.2,
			"aws":{"operation":"SendMessage","queue_url":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}}]}`,
		`{"trace_id":"$T","id":"00000000000000a2","name":"consumer","start_time":3,"end_time":4,
			"links":[{"trace_id":"$T","id":"00000000000000b1"},{"trace_id":"1-581cf771-000000000000000000000000","id":"00000000000000b1"}]}`)
	if got, want := graphOf(s), "producer/*(1) consumer/(1) jobs/AWS::SQS::Queue~(1) |"+
		" client->producer/(1) client->consumer/(1) producer/->jobs/AWS::SQS::Queue(1) jobs/AWS::SQS::Queue~>consumer/(1)"; got != want {
		t.Errorf("graph:\n got %s\nwant %s", got, want)
	}
}

// TestCauseReference: a cause naming an exception recorded elsewhere in the
// trace (Python does this when an exception bubbles up) lists that one.
func TestCauseReference(t *testing.T) {
	s := build(t, `{"trace_id":"$T","id":"00000000000000a1","name":"web","start_time":1,"end_time":2,"fault":true,"cause":"abcdefabcdef0001",
		"subsegments":[{"id":"00000000000000b1","name":"parse","start_time":1.1,"end_time":1.2,"error":true,
			"cause":{"exceptions":[{"id":"abcdefabcdef0001","type":"ValueError","message":"bad input"}]}}]}`)
	if got, want := rootCausesOf(s.FaultRootCauses), "web/{web(ValueError: bad input)}!"; got != want {
		t.Errorf("fault root causes: got %s, want %s", got, want)
	}
	if got, want := rootCausesOf(s.ErrorRootCauses), "web/{web,parse(ValueError: bad input)}"; got != want {
		t.Errorf("error root causes: got %s, want %s", got, want)
	}
}
