package segment

import (
	"fmt"
	"strings"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Shared by the table tests and as seeds for FuzzDecode.

const (
	testTraceID = "1-581cf771-a006649127e371903a2de979"
	testRootID  = "70de5b6f19ff9a0a"
	// base holds a root segment's required fields but the end: add end_time
	// or in_progress.
	base     = `"name":"example.com","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.478293361271E9`
	complete = base + `,"end_time":1.478293361449E9`
	// independent is the head of an independent subsegment.
	independent = `"name":"api.example.com","id":"53995c3f42cd8ad8","start_time":1.478293361271E9,"end_time":1.478293361449E9,` +
		`"type":"subsegment","trace_id":"1-581cf771-a006649127e371903a2de979","parent_id":"defdfd9912dc5a56"`
)

func obj(fields ...string) string { return "{" + strings.Join(fields, ",") + "}" }

// sub returns a complete embedded subsegment with the given ID.
func sub(id string, fields ...string) string {
	head := `"name":"s-` + id + `","id":"` + id + `","start_time":1.4782933613E9,"end_time":1.4782933614E9`
	return obj(append([]string{head}, fields...)...)
}

func subs(items ...string) string { return `"subsegments":[` + strings.Join(items, ",") + `]` }

// Subsegment IDs for the cases.
const (
	s1 = "a000000000000001"
	s2 = "a000000000000002"
	s3 = "a000000000000003"
	s4 = "a000000000000004"
	s5 = "a000000000000005"
)

func mustID(s string) xrayid.SegmentID {
	id, err := xrayid.ParseSegmentID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// links returns a links array of n distinct, valid links.
func links(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = `{"trace_id":"1-581cf771-a006649127e371903a2de979","id":"b00000000000000` + string(rune('a'+i%6)) + `","attributes":{"aws.xray.reserved.ref_type":"child"}}`
	}
	return `"links":[` + strings.Join(items, ",") + `]`
}

// acceptCases lists documents SDKs really send; got extracts what the case is
// about and want is its expected value.
func acceptCases(f func(doc string, got func(s []Segment) any, want any)) {
	root := func(s []Segment) *Entity { return s[0].Root() }
	ent := func(i int) func(s []Segment) *Entity { return func(s []Segment) *Entity { return &s[0].Entities[i] } }

	// Stray and unknown fields, anywhere.
	f(obj(complete, `"Dummy":false`), func(s []Segment) any { return root(s).Name }, "example.com")
	f(obj(complete, `"service":{"version":"1.2","runtime":"gc"}`, `"inferred":false`, `"whatever":[1,{"a":null}]`),
		func(s []Segment) any { return root(s).ID }, mustID(testRootID))
	f(obj(complete, `"http":{"request":{"method":"GET","x_amzn_extra":{"a":1}},"response":{"status":200,"headers":{}}}`, `"aws":{"xray":{"sdk":"X-Ray for Go","sampling_rule_name":"Default"},"elastic_beanstalk":{"deployment_id":3}}`),
		func(s []Segment) any { return root(s).HTTP.Method }, "GET")
	f(obj(complete, `"aws":{"xray":{"rule_name":"Default","package":"aws-xray-sdk-core"}}`), func(s []Segment) any { return root(s).AWS }, AWS{})
	f(obj(complete, `"sql":{"database_type":"MySQL","extra":true}`), func(s []Segment) any { return *root(s).SQL }, SQL{DatabaseType: "MySQL"})

	// Times: milliseconds, microseconds, exponent form, zero, equal ends.
	f(obj(base[:strings.Index(base, `,"start_time"`)], `"start_time":1478293361.271,"end_time":1478293361.449`),
		func(s []Segment) any { return [2]float64{root(s).Start, root(s).End} }, [2]float64{1478293361.271, 1478293361.449})
	f(obj(base[:strings.Index(base, `,"start_time"`)], `"start_time":1478293361.271123,"end_time":1478293361.449456`),
		func(s []Segment) any { return root(s).End }, 1478293361.449456)
	f(obj(complete), func(s []Segment) any { return root(s).Start }, 1478293361.271)
	f(obj(base[:strings.Index(base, `,"start_time"`)], `"start_time":0,"end_time":0`), func(s []Segment) any { return root(s).End }, 0.0)
	f(obj(base, `"end_time":1.478293361271E9`), func(s []Segment) any { return root(s).End - root(s).Start }, 0.0)
	f(obj(base, `"end_time":1.6815744310206673E9`), func(s []Segment) any { return root(s).End }, 1.6815744310206673e9)

	// in_progress.
	f(obj(base, `"in_progress":true`), func(s []Segment) any { return [2]any{root(s).InProgress, root(s).End} }, [2]any{true, 0.0})
	f(obj(complete, `"in_progress":false`), func(s []Segment) any { return root(s).InProgress }, false)
	// A stale in_progress next to an end time: the end time wins.
	f(obj(complete, `"in_progress":true`), func(s []Segment) any { return [2]any{root(s).InProgress, root(s).End} }, [2]any{false, 1478293361.449})
	f(obj(base, `"in_progress":true`, subs(obj(`"name":"q","id":"a000000000000001","start_time":1.4782933613E9,"in_progress":true`))),
		func(s []Segment) any { return ent(1)(s).InProgress }, true)

	// Embedded subsegments: without trace_id/parent_id, or with them and
	// "type":"subsegment" (Python), namespace local; the Go SDK's parent_id
	// names the root even at depth.
	f(obj(complete, subs(sub(s1), sub(s2, subs(sub(s3))), sub(s4))),
		func(s []Segment) any {
			var p []int32
			for _, e := range s[0].Entities {
				p = append(p, e.Parent)
			}
			return p
		}, []int32{-1, 0, 0, 2, 0})
	f(obj(complete, subs(sub(s1, `"type":"subsegment"`, `"namespace":"local"`, `"trace_id":"`+testTraceID+`"`, `"parent_id":"`+testRootID+`"`))),
		func(s []Segment) any { return [2]any{s[0].Independent, ent(1)(s).Namespace} }, [2]any{false, "local"})
	f(obj(complete, subs(sub(s1, subs(sub(s2, `"parent_id":"`+testRootID+`"`))))),
		func(s []Segment) any { return ent(2)(s).Parent }, int32(1))

	// traced: under http.request (documented) or top level (Node).
	f(obj(complete, subs(sub(s1, `"http":{"request":{"url":"http://b/","traced":true}}`))), func(s []Segment) any { return ent(1)(s).Traced }, true)
	f(obj(complete, subs(sub(s1, `"traced":true`, `"http":{"request":{"url":"http://b/"}}`))), func(s []Segment) any { return ent(1)(s).Traced }, true)
	f(obj(complete, subs(sub(s1, `"traced":false`))), func(s []Segment) any { return ent(1)(s).Traced }, false)
	// Either place saying true is enough, whatever the order.
	f(obj(complete, subs(sub(s1, `"http":{"request":{"traced":true}}`, `"traced":false`))), func(s []Segment) any { return ent(1)(s).Traced }, true)
	f(obj(complete, subs(sub(s1, `"traced":true`, `"http":{"request":{"traced":false}}`))), func(s []Segment) any { return ent(1)(s).Traced }, true)

	// cause: an exception ID, a {"id"} reference, a full object.
	f(obj(complete, `"cause":"3223609a290c72f9"`), func(s []Segment) any { return root(s).Cause }, Cause{ExceptionID: "3223609a290c72f9"})
	f(obj(complete, `"cause":{"id":"3223609a290c72f9"}`), func(s []Segment) any { return root(s).Cause }, Cause{ExceptionID: "3223609a290c72f9"})
	f(obj(complete, `"cause":{"working_directory":"/app","paths":["/app/x.go"],"exceptions":[{"id":"3223609a290c72f9","message":"boom","type":"TypeError","remote":true,"truncated":2,"skipped":1,"cause":"4223609a290c72f9","stack":[{"path":"x.js","line":3,"label":"f"},{"path":"<anonymous>","line":null,"label":"Array.map"},{"column":7}]}]}`),
		func(s []Segment) any { return root(s).Cause }, Cause{WorkingDirectory: "/app", Exceptions: []Exception{{
			ID: "3223609a290c72f9", Message: "boom", Type: "TypeError", Remote: true, Truncated: 2, Skipped: 1, Cause: "4223609a290c72f9",
			Stack: []StackFrame{{Path: "x.js", Line: 3, Label: "f"}, {Path: "<anonymous>", Label: "Array.map"}, {}},
		}}})

	// content_length: number or numeric string.
	f(obj(complete, `"http":{"response":{"status":200,"content_length":861}}`), func(s []Segment) any { return root(s).HTTP.ContentLength }, int64(861))
	f(obj(complete, `"http":{"response":{"status":200,"content_length":"861"}}`), func(s []Segment) any { return root(s).HTTP.ContentLength }, int64(861))
	f(obj(complete, `"http":{"response":{"content_length":-1}}`), func(s []Segment) any { return root(s).HTTP.ContentLength }, int64(-1))

	// null means absent, for every optional field.
	f(obj(complete, `"http":null`, `"aws":null`, `"sql":null`, `"user":null`, `"origin":null`, `"namespace":null`, `"resource_arn":null`,
		`"annotations":null`, `"metadata":null`, `"cause":null`, `"error":null`, `"fault":null`, `"throttle":null`, `"in_progress":null`,
		`"parent_id":null`, `"type":null`, `"links":null`, `"precursor_ids":null`, `"subsegments":null`, `"traced":null`),
		func(s []Segment) any { return len(s[0].Entities) }, 1)
	f(obj(complete, `"http":{"request":null,"response":{"status":null,"content_length":null}}`, `"aws":{"region":null,"ec2":null,"resource_names":null}`,
		`"sql":{"url":null}`, `"cause":{"exceptions":[{"id":null,"stack":[{"line":null}]}]}`),
		func(s []Segment) any { return root(s).HTTP }, HTTP{})

	// HTTP digest.
	f(obj(complete, `"http":{"request":{"method":"POST","url":"https://a.example.com/x","user_agent":"ua/1","client_ip":"203.0.113.9","x_forwarded_for":true},"response":{"status":429}}`),
		func(s []Segment) any { return root(s).HTTP }, HTTP{Method: "POST", URL: "https://a.example.com/x", UserAgent: "ua/1", ClientIP: "203.0.113.9", XForwardedFor: true, Status: 429})
	// Not held to the 250-character limit.
	long := "https://a.example.com/" + strings.Repeat("p", 1000)
	f(obj(complete, `"http":{"request":{"url":"`+long+`"}}`), func(s []Segment) any { return root(s).HTTP.URL }, long)

	// AWS digest: EC2 placement wins over ECS; ECS is the fallback.
	f(obj(complete, `"origin":"AWS::EC2::Instance"`, `"aws":{"account_id":"123456789012","ecs":{"availability_zone":"eu-west-1b"},"ec2":{"instance_id":"i-0abc","availability_zone":"eu-west-1a","ami_id":"ami-1"},"cloudwatch_logs":[{"log_group":"/a"},{"arn":"x"},{"log_group":"/b"}]}`),
		func(s []Segment) any { return root(s).AWS }, AWS{AccountID: "123456789012", InstanceID: "i-0abc", AvailabilityZone: "eu-west-1a", LogGroups: []string{"/a", "/b"}})
	f(obj(complete, `"aws":{"ecs":{"container":"web","availability_zone":"eu-west-1b"}}`), func(s []Segment) any { return root(s).AWS.AvailabilityZone }, "eu-west-1b")
	f(obj(complete, subs(sub(s1, `"namespace":"aws"`, `"aws":{"operation":"Invoke","region":"us-east-1","request_id":"r-1","account_id":"123456789012","function_name":"fn","queue_url":"https://sqs/q","bucket_name":"b","topic_arn":"arn:t","function_arn":"arn:f","table_name":"t","resource_names":["t","u"],"retries":0}`))),
		func(s []Segment) any { return ent(1)(s).AWS }, AWS{Operation: "Invoke", Region: "us-east-1", RequestID: "r-1", AccountID: "123456789012", FunctionName: "fn",
			QueueURL: "https://sqs/q", BucketName: "b", TopicARN: "arn:t", FunctionARN: "arn:f", TableName: "t", ResourceNames: []string{"t", "u"}})

	// Annotations: document order, AWS's colon keys, duplicate keys keep the
	// first position and the last value.
	f(obj(complete, `"annotations":{"b":"x","aws:responseLatency":12.5,"a":true,"b":false,"n":-3}`), func(s []Segment) any { return root(s).Annotations },
		[]Annotation{{Key: "b", Type: AnnotationBool}, {Key: "aws:responseLatency", Type: AnnotationNumber, Number: 12.5},
			{Key: "a", Type: AnnotationBool, Bool: true}, {Key: "n", Type: AnnotationNumber, Number: -3}})
	f(obj(complete, `"annotations":{}`), func(s []Segment) any { return root(s).Annotations }, []Annotation(nil))
	key250 := strings.Repeat("é", 250) // 500 bytes, 250 characters
	f(obj(complete, `"annotations":{"`+key250+`":1}`), func(s []Segment) any { return root(s).Annotations[0].Key }, key250)
	f(obj(complete, `"annotations":{"long_value":"`+strings.Repeat("v", 1000)+`"}`),
		func(s []Segment) any { return len(root(s).Annotations[0].String) }, 1000)

	// Names: 200 characters of any width.
	name200 := strings.Repeat("名", 200)
	f(`{"name":"`+name200+`",`+complete[len(`"name":"example.com",`):]+`}`, func(s []Segment) any { return root(s).Name }, name200)
	f(`{"name":"a\u00e9\"b",`+complete[len(`"name":"example.com",`):]+`}`, func(s []Segment) any { return root(s).Name }, `aé"b`)

	// IDs, links, precursors, flags, strings.
	f(obj(complete, `"parent_id":"4c17ecc1b6cd296a"`), func(s []Segment) any { return s[0].ParentID }, mustID("4c17ecc1b6cd296a"))
	f(obj(complete, links(2)), func(s []Segment) any { return s[0].Links }, []Link{
		{TraceID: xrayid.MustParseTraceID(testTraceID), ID: mustID("b00000000000000a")},
		{TraceID: xrayid.MustParseTraceID(testTraceID), ID: mustID("b00000000000000b")}})
	f(obj(complete, links(20)), func(s []Segment) any { return len(s[0].Links) }, 20)
	f(obj(complete, subs(sub(s1, links(30)))), func(s []Segment) any { return len(s[0].Links) }, 0) // only the root's count
	f(obj(complete, subs(sub(s1), sub(s2, `"precursor_ids":["a000000000000001"]`))), func(s []Segment) any { return ent(2)(s).PrecursorIDs },
		[]xrayid.SegmentID{mustID(s1)})
	f(obj(complete, `"error":true,"throttle":true,"fault":false`, `"user":"u-1"`, `"resource_arn":"arn:aws:lambda:x"`, `"origin":"AWS::Lambda"`),
		func(s []Segment) any {
			e := root(s)
			return [6]any{e.Error, e.Throttle, e.Fault, e.User, e.ResourceARN, e.Origin}
		},
		[6]any{true, true, false, "u-1", "arn:aws:lambda:x", "AWS::Lambda"})

	// Document shapes: whitespace around, independent subsegments, arrays.
	f(" \n\t"+obj(complete)+"\r\n ", func(s []Segment) any { return [2]any{root(s).Name, string(s[0].Raw)} }, [2]any{"example.com", obj(complete)})
	f(obj(independent), func(s []Segment) any { return [3]any{s[0].Independent, s[0].ParentID, s[0].TraceID} },
		[3]any{true, mustID("defdfd9912dc5a56"), xrayid.MustParseTraceID(testTraceID)})
	f("["+obj(independent)+"]", func(s []Segment) any { return len(s) }, 1)
	f(" [ "+obj(independent)+" ,\n"+strings.Replace(obj(independent), "53995c3f42cd8ad8", "63995c3f42cd8ad8", 1)+"] ",
		func(s []Segment) any { return [2]xrayid.SegmentID{s[0].ID(), s[1].ID()} }, [2]xrayid.SegmentID{mustID("53995c3f42cd8ad8"), mustID("63995c3f42cd8ad8")})

	// Many entities and annotations (past the linear-scan limit).
	var many []string
	for i := range 40 {
		many = append(many, sub("c0000000000000"+hex2(i)))
	}
	f(obj(complete, subs(many...)), func(s []Segment) any { return len(s[0].Entities) }, 41)
	var anns []string
	for i := range 40 {
		anns = append(anns, `"k`+hex2(i)+`":`+hex2(i)[:1])
	}
	anns = append(anns, `"k00":"last"`)
	f(obj(complete, `"annotations":{`+strings.Join(anns, ",")+`}`),
		func(s []Segment) any { a := root(s).Annotations; return [2]any{len(a), a[0]} },
		[2]any{40, Annotation{Key: "k00", Type: AnnotationString, String: "last"}})
}

func hex2(i int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[i>>4&15], digits[i&15]})
}

// rejectCases lists rejected documents with their code and exact message.
func rejectCases(f func(doc, code, msg string)) {
	// Not JSON. Offsets point at the offending byte, or the end.
	at := func(doc, mark string, skip int) int { return strings.Index(doc, mark) + skip }
	f(``, CodeInvalidJSON, "invalid JSON at offset 0: the document is empty")
	f(`{"name":x}`, CodeInvalidJSON, "invalid JSON at offset 8: invalid character 'x' looking for beginning of value")
	f(`{"name":"a"`, CodeInvalidJSON, "invalid JSON at offset 11: unexpected end of JSON input")
	doc := obj(complete) + `}`
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character '}' after top-level value", len(doc)-1))
	doc = obj(complete, `"metadata":{"default":{"x":NaN}}`)
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character 'N' looking for beginning of value", at(doc, "NaN", 0)))
	doc = obj(complete, `"metadata":{"default":{"x":01}}`)
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character '1' after object key:value pair", at(doc, "01", 1)))
	doc = obj(complete, "\"user\":\"a\tb\"")
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character '\\t' in string literal", at(doc, "\t", 0)))
	// fastjson's validator misses these (a control character before an escape).
	doc = obj(complete, "\"user\":\"a\x01b\\n\"")
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character '\\x01' in string literal", at(doc, "\x01", 0)))
	doc = obj(complete, "\"annotations\":{\"k\tx\\u0041\":1}")
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character '\\t' in string literal", at(doc, "\t", 0)))
	doc = obj(complete, `"user":"a\u00zzb"`)
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character 'z' in \\u hexadecimal character escape", at(doc, "z", 0)))
	doc = obj(complete, `"user":"a\qb"`)
	f(doc, CodeInvalidJSON, fmt.Sprintf("invalid JSON at offset %d: invalid character 'q' in string escape code", at(doc, `\q`, 1)))

	// Not a document.
	f(`"segment"`, CodeInvalidSegment, "document must be a JSON object or an array of subsegment objects, found a string")
	f(`42`, CodeInvalidSegment, "document must be a JSON object or an array of subsegment objects, found a number")
	f(`null`, CodeInvalidSegment, "document must be a JSON object or an array of subsegment objects, found null")
	f(`[]`, CodeInvalidSegment, "document is an empty array; expected subsegment objects")
	f(`[`+obj(independent)+`,3]`, CodeInvalidSegment, "[1]: expected a subsegment object, found a number")
	f(`[`+obj(complete)+`]`, CodeMissingRequiredField, `[0].type is required: an array document holds independent subsegments ("type":"subsegment")`)
	f(`[`+obj(complete, `"type":"subsegment"`)+`]`, CodeMissingRequiredField, "[0].parent_id is required for an independent subsegment")

	// Missing required fields, at any depth.
	f(obj(`"id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2`), CodeMissingRequiredField, "name is required")
	f(obj(`"name":null`, complete[len(`"name":"example.com",`):]), CodeMissingRequiredField, "name is required")
	f(obj(`"name":"a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":2`), CodeMissingRequiredField, "id is required")
	f(obj(`"name":"a","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","end_time":2`), CodeMissingRequiredField, "start_time is required")
	f(obj(`"name":"a","id":"70de5b6f19ff9a0a","start_time":1,"end_time":2`), CodeMissingRequiredField, "trace_id is required")
	f(obj(base), CodeMissingRequiredField, "end_time is required unless in_progress is true")
	f(obj(base, `"in_progress":false`), CodeMissingRequiredField, "end_time is required unless in_progress is true")
	f(obj(strings.Replace(independent, `,"parent_id":"defdfd9912dc5a56"`, "", 1)), CodeMissingRequiredField, "parent_id is required for an independent subsegment")

	// Bad IDs.
	f(obj(strings.Replace(complete, testTraceID, "1-581cf771-a006649127e371903a2de97", 1)), CodeInvalidTraceID,
		`trace_id: "1-581cf771-a006649127e371903a2de97" must be 35 characters: 1-<8 hex digits>-<24 hex digits>`)
	f(obj(strings.Replace(complete, testTraceID, "1-581CF771-a006649127e371903a2de979", 1)), CodeInvalidTraceID,
		`trace_id: "1-581CF771-a006649127e371903a2de979" must be lowercase hexadecimal`)
	f(obj(strings.Replace(complete, testTraceID, "1-00000000-000000000000000000000000", 1)), CodeInvalidTraceID,
		`trace_id: "1-00000000-000000000000000000000000" must not be all zeros`)
	f(obj(strings.Replace(complete, testRootID, "70DE5B6F19FF9A0A", 1)), CodeInvalidID, `id: "70DE5B6F19FF9A0A" must be 16 lowercase hexadecimal digits`)
	f(obj(strings.Replace(complete, testRootID, "0000000000000000", 1)), CodeInvalidID, `id: "0000000000000000" must not be all zeros`)
	f(obj(complete, `"parent_id":"abc"`), CodeInvalidID, `parent_id: "abc" must be 16 lowercase hexadecimal digits`)

	// Wrong JSON types.
	f(obj(`"name":7`, complete[len(`"name":"example.com",`):]), CodeInvalidSegment, "name: expected a string, found a number")
	f(obj(strings.Replace(complete, `"id":"70de5b6f19ff9a0a"`, `"id":12`, 1)), CodeInvalidSegment, "id: expected a string, found a number")
	f(obj(strings.Replace(complete, `"trace_id":"`+testTraceID+`"`, `"trace_id":{}`, 1)), CodeInvalidSegment, "trace_id: expected a string, found an object")
	f(obj(strings.Replace(complete, `1.478293361271E9`, `"1478293361.271"`, 1)), CodeInvalidSegment, "start_time: expected a number, found a string")
	f(obj(base, `"in_progress":"yes"`), CodeInvalidSegment, "in_progress: expected a boolean, found a string")
	f(obj(complete, `"type":true`), CodeInvalidSegment, "type: expected a string, found a boolean")
	f(obj(complete, `"subsegments":{}`), CodeInvalidSegment, "subsegments: expected an array, found an object")

	// Bad values.
	f(obj(`"name":"a","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":-1,"end_time":2`), CodeInvalidSegment, "start_time: must not be negative, found -1")
	f(obj(`"name":"a","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1,"end_time":1e400`), CodeInvalidSegment, "end_time: 1e400 is out of range")
	f(obj(`"name":""`, complete[len(`"name":"example.com",`):]), CodeInvalidSegment, "name: must not be empty")
	f(obj(`"name":"`+strings.Repeat("名", 201)+`"`, complete[len(`"name":"example.com",`):]), CodeInvalidSegment, "name: is 201 characters; the limit is 200")
	f(obj(complete, `"type":"segment"`), CodeInvalidSegment, `type: must be "subsegment", found "segment"`)

	// Duplicate entity IDs, in one document or across an array's elements.
	f(`[`+obj(independent)+`,`+obj(independent)+`]`, CodeInvalidSegment, "[1].id: 53995c3f42cd8ad8 appears more than once in the document")

	// Nesting deeper than the parser allows.
	// The root is level 1, so the deep value's 299th object opens level 300
	// and holds the 301st value.
	deep := strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300)
	doc = obj(complete, `"metadata":`+deep)
	f(doc, CodeInvalidSegment, fmt.Sprintf("JSON at offset %d nests too deeply; the limit is 300 levels", at(doc, deep, 298*len(`{"a":`))))
}

// repairCases lists documents kept after a repair: a malformed optional
// field normalized or dropped. path and action are the one repair's, value
// what the field holds afterwards ("" when dropped).
func repairCases(f func(doc, path, action string)) {
	f(obj(complete, links(1)[:len(`"links":[{`)]+`"trace_id":"`+testTraceID+`"}]`), "links", Dropped)
	f(obj(complete, `"links":[{"id":"b00000000000000a"}]`), "links", Dropped)
	f(obj(complete, `"links":[{"trace_id":"1-x","id":"b00000000000000a"}]`), "links", Dropped)
	f(obj(complete, subs(sub(s1), sub(s2, `"precursor_ids":["a000000000000001","a00000000000001"]`))), "subsegments[1].precursor_ids", Dropped)
	f(obj(complete, `"links":[{"trace_id":"`+testTraceID+`","id":"0000000000000000"}]`), "links", Dropped)
	f(obj(complete, `"error":"true"`), "error", Normalized)
	f(obj(complete, `"fault":1`), "fault", Dropped)
	// The repaired document is written anew: strings the decoder unescaped
	// must come out as JSON, not as Go escapes (\a, \v, \x95).
	f(obj(complete, `"fault":1,"annotations":{"k":"\u0007\u000b\u007f\f`+"\x95"+` \u2028 é"}`), "fault", Dropped)
	f(obj(complete, `"namespace":["aws"]`), "namespace", Dropped)
	f(obj(complete, `"http":"GET /"`), "http", Dropped)
	f(obj(complete, `"http":{"request":[]}`), "http.request", Dropped)
	f(obj(complete, `"http":{"request":{"method":1}}`), "http.request.method", Dropped)
	f(obj(complete, `"http":{"request":{"traced":"yes"}}`), "http.request.traced", Dropped)
	f(obj(complete, `"http":{"request":{"traced":"TRUE"}}`), "http.request.traced", Normalized)
	f(obj(complete, `"http":{"response":{"status":"200"}}`), "http.response.status", Normalized)
	f(obj(complete, `"http":{"request":{"method":"GET"},"response":{"status":""}}`), "http.response.status", Dropped)
	f(obj(complete, subs(sub(s1, `"http":{"response":{"status":200.5}}`))), "subsegments[0].http.response.status", Dropped)
	f(obj(complete, `"http":{"response":{"content_length":"12kB"}}`), "http.response.content_length", Dropped)
	f(obj(complete, `"http":{"response":{"content_length":true}}`), "http.response.content_length", Dropped)
	f(obj(complete, `"aws":"us-east-1"`), "aws", Dropped)
	f(obj(complete, `"aws":{"table_name":["a"]}`), "aws", Dropped)
	f(obj(complete, `"aws":{"resource_names":["a",1]}`), "aws", Dropped)
	f(obj(complete, `"aws":{"ec2":"i-1"}`), "aws", Dropped)
	f(obj(complete, `"aws":{"ecs":{"availability_zone":1}}`), "aws", Dropped)
	f(obj(complete, `"aws":{"cloudwatch_logs":{"log_group":"/a"}}`), "aws", Dropped)
	f(obj(complete, `"aws":{"cloudwatch_logs":[{"log_group":"/a"},{"log_group":false}]}`), "aws", Dropped)
	f(obj(complete, `"sql":["select"]`), "sql", Dropped)
	f(obj(complete, `"sql":{"sanitized_query":5}`), "sql", Dropped)
	f(obj(complete, `"annotations":["a"]`), "annotations", Dropped)
	f(obj(complete, `"annotations":{"ok":1,"bad":{"x":1}}`), "annotations.bad", Dropped)
	f(obj(complete, `"metadata":"debug"`), "metadata", Dropped)
	f(obj(complete, `"precursor_ids":"a000000000000001"`), "precursor_ids", Dropped)
	f(obj(complete, `"links":{}`), "links", Dropped)
	f(obj(complete, `"links":["1-581cf771-a006649127e371903a2de979"]`), "links", Dropped)
	f(obj(complete, `"cause":7`), "cause", Dropped)
	f(obj(complete, `"cause":{"exceptions":{}}`), "cause", Dropped)
	f(obj(complete, `"cause":{"exceptions":[{"message":"a"},"b"]}`), "cause", Dropped)
	f(obj(complete, `"cause":{"exceptions":[{"message":{"text":"a"}}]}`), "cause", Dropped)
	f(obj(complete, `"cause":{"exceptions":[{"truncated":1.5}]}`), "cause", Dropped)
	f(obj(complete, `"cause":{"exceptions":[{"stack":[{"line":1},{"path":"a","line":"12"}]}]}`), "cause", Dropped)
	f(obj(complete, links(21)), "links", Dropped)
	ok := strings.Repeat(`{"a":`, 298) + "1" + strings.Repeat("}", 298)
	f(obj(complete, `"metadata":`+ok, `"user":7`), "user", Dropped)
	// Annotations: the one that cannot be indexed goes, the others stay.
	f(obj(complete, `"annotations":{"user_id":{"id":1}}`), "annotations.user_id", Dropped)
	f(obj(complete, `"annotations":{"tags":["a"]}`), "annotations.tags", Dropped)
	f(obj(complete, subs(sub(s1, `"annotations":{"ok":1,"user id":null}`))), `subsegments[0].annotations["user id"]`, Dropped)
	f(obj(complete, `"annotations":{"big":1e999}`), "annotations.big", Dropped)
	f(obj(complete, `"annotations":{"":"x"}`), `annotations[""]`, Dropped)
	f(obj(complete, `"annotations":{"`+strings.Repeat("k", 251)+`":1}`), "annotations."+strings.Repeat("k", 64)+"...", Dropped)
	// A subsegment that cannot be kept goes with its own subsegments; the
	// entity that holds it stays.
	f(obj(complete, subs(sub(s1), sub(s2), obj(`"name":"x","id":"a000000000000003","end_time":2`))), "subsegments[2]", Dropped)
	f(obj(complete, subs(sub(s1, subs(sub(s2), sub(s3), sub(s4), obj(`"name":"x","start_time":1,"end_time":2`))))), "subsegments[0].subsegments[3]", Dropped)
	f(obj(complete, subs(sub(s1, subs(obj(`"name":"x","id":"a000000000000002","start_time":1`))))), "subsegments[0].subsegments[0]", Dropped)
	f(obj(complete, subs(sub(s1, `"trace_id":"2-581cf771-a006649127e371903a2de979"`))), "subsegments[0]", Dropped)
	f(obj(complete, subs(sub(s1, `"parent_id":"zzzzzzzzzzzzzzzz"`))), "subsegments[0]", Dropped)
	f(obj(complete, subs(sub(s1), sub("53995c3f42cd8ad8"+strings.Repeat("f", 100)))), "subsegments[1]", Dropped)
	f(obj(complete, subs(sub(s1), `"a000000000000002"`)), "subsegments[1]", Dropped)
	f(obj(complete, subs(sub(s1, `"end_time":1.4782933612E9`))), "subsegments[0]", Dropped)
	f(obj(complete, subs(sub(s1, `"type":"Subsegment"`))), "subsegments[0]", Dropped)
	f(obj(complete, subs(sub(testRootID))), "subsegments[0]", Dropped)
	f(obj(complete, subs(sub(s1, subs(sub(s2))), sub(s3, subs(sub(s4), sub(s2))))), "subsegments[1].subsegments[1]", Dropped)
	var many []string
	for i := range 40 {
		many = append(many, sub("c0000000000000"+hex2(i)))
	}
	many = append(many, sub("c000000000000011"))
	f(obj(complete, subs(many...)), "subsegments[40]", Dropped)
}
