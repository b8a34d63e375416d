package summary

import (
	"fmt"
	"strings"
	"testing"
)

// benchTrace is a typical ten-document trace with real times: web calls
// orders and payments (traced) and DynamoDB; orders queries SQL, sends to
// SQS and invokes a Lambda function, whose SDK streams three calls; web
// arrived in progress first and orders twice.
func benchTrace(t testing.TB) []Doc {
	r := strings.NewReplacer("T0", "1478293361")
	docs := []string{
		`{"trace_id":"$T","id":"00000000000000a1","name":"web","origin":"AWS::EC2::Instance","start_time":T0.100,"in_progress":true}`,
		`{"trace_id":"$T","id":"00000000000000a2","name":"orders","origin":"AWS::ECS::Container","parent_id":"00000000000000b1",
			"start_time":T0.112,"end_time":T0.290,"http":{"request":{"method":"POST","url":"http://orders/new"},"response":{"status":200}},
			"annotations":{"customer":"acme","items":3},
			"subsegments":[{"id":"00000000000000c1","name":"orders@db","namespace":"remote","start_time":T0.120,"end_time":T0.150,
				"sql":{"url":"postgres://db/orders","database_type":"PostgreSQL"}},
			{"id":"00000000000000c2","name":"SQS","namespace":"aws","start_time":T0.151,"end_time":T0.160,
				"aws":{"operation":"SendMessage","queue_url":"https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}},
			{"id":"00000000000000c3","name":"Lambda","namespace":"aws","start_time":T0.161,"end_time":T0.280,
				"http":{"request":{"traced":true},"response":{"status":200}},"aws":{"operation":"Invoke","function_name":"fn"}}]}`,
		`{"trace_id":"$T","id":"00000000000000a3","name":"payments","parent_id":"00000000000000b2","start_time":T0.300,"end_time":T0.390,
			"http":{"request":{"method":"POST","url":"http://payments/charge"},"response":{"status":200}},"user":"alice",
			"subsegments":[{"id":"0000000000000dd1","name":"api.stripe.com","namespace":"remote","start_time":T0.310,"end_time":T0.380,
				"http":{"request":{"method":"POST","url":"https://api.stripe.com/v1/charges"},"response":{"status":200}}}]}`,
		`{"trace_id":"$T","id":"00000000000000f1","name":"fn","origin":"AWS::Lambda","parent_id":"00000000000000c3","start_time":T0.165,"end_time":T0.278,
			"http":{"response":{"status":200}},"resource_arn":"arn:aws:lambda:us-east-1:123456789012:function:fn"}`,
		`{"trace_id":"$T","id":"00000000000000e1","name":"fn","origin":"AWS::Lambda::Function","parent_id":"00000000000000f1",
			"start_time":T0.170,"end_time":T0.275,"aws":{"account_id":"123456789012","function_arn":"arn:aws:lambda:us-east-1:123456789012:function:fn"},
			"annotations":{"aws:responseLatency":98.2},
			"subsegments":[{"id":"00000000000000e3","name":"Invocation","start_time":T0.171,"end_time":T0.270},
				{"id":"00000000000000e4","name":"Overhead","start_time":T0.271,"end_time":T0.274}]}`,
		`{"type":"subsegment","trace_id":"$T","id":"00000000000000d1","parent_id":"00000000000000e1","name":"DynamoDB","namespace":"aws",
			"start_time":T0.180,"end_time":T0.200,"http":{"response":{"status":200}},"aws":{"operation":"PutItem","table_name":"items"}}`,
		`{"type":"subsegment","trace_id":"$T","id":"00000000000000d2","parent_id":"00000000000000e1","name":"S3","namespace":"aws",
			"start_time":T0.201,"end_time":T0.230,"http":{"response":{"status":200}},"aws":{"operation":"PutObject","bucket_name":"archive"}}`,
		`{"type":"subsegment","trace_id":"$T","id":"00000000000000d3","parent_id":"00000000000000e1","name":"SNS","namespace":"aws",
			"start_time":T0.231,"end_time":T0.260,"http":{"response":{"status":200}},"aws":{"operation":"Publish"}}`,
		`{"trace_id":"$T","id":"00000000000000a1","name":"web","origin":"AWS::EC2::Instance","start_time":T0.100,"end_time":T0.400,
			"http":{"request":{"method":"GET","url":"http://web.example.com/checkout","user_agent":"Mozilla/5.0","client_ip":"203.0.113.9"},"response":{"status":200}},
			"aws":{"ec2":{"instance_id":"i-0abc","availability_zone":"us-east-1a"}},"annotations":{"customer":"acme"},
			"subsegments":[{"id":"00000000000000b1","name":"orders","namespace":"remote","start_time":T0.110,"end_time":T0.295,
				"http":{"request":{"method":"POST","url":"http://orders/new","traced":true},"response":{"status":200}}},
			{"id":"00000000000000b2","name":"payments","namespace":"remote","start_time":T0.298,"end_time":T0.392,
				"http":{"request":{"method":"POST","url":"http://payments/charge","traced":true},"response":{"status":200}}},
			{"id":"00000000000000b3","name":"DynamoDB","namespace":"aws","start_time":T0.393,"end_time":T0.398,
				"aws":{"operation":"GetItem","table_name":"sessions"}}]}`,
	}
	for i := range docs {
		docs[i] = r.Replace(docs[i])
	}
	docs = append(docs, docs[1]) // a resend
	return decodeDocs(t, docs...)
}

func BenchmarkBuild(b *testing.B) {
	docs := benchTrace(b)
	var bl Builder
	b.ReportAllocs()
	for b.Loop() {
		bl.Build(testTraceID, docs, 1)
	}
}

func BenchmarkBuildPooled(b *testing.B) {
	docs := benchTrace(b)
	b.ReportAllocs()
	for b.Loop() {
		Build(testTraceID, docs, 1)
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	s := Build(testTraceID, benchTrace(b), 1)
	buf := s.AppendBinary(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = s.AppendBinary(buf[:0])
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	f := func(name string, s *Summary) {
		buf := s.AppendBinary(nil)
		b.Run(name, func(b *testing.B) {
			var dst Summary
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if err := dst.UnmarshalBinary(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	f("ten-documents", Build(testTraceID, benchTrace(b), 1))
	f("two-services", Build(testTraceID, realisticTrace(b), 1))
}

// BenchmarkBuildLarge: a Go SDK segment that streamed 2000 subsegments, all
// failing with a cause that references one exception, and each calling a
// different remote host.
func BenchmarkBuildLarge(b *testing.B) {
	var docs []string
	for i := range 2000 {
		docs = append(docs, fmt.Sprintf(`{"type":"subsegment","trace_id":"$T","id":"%016x","parent_id":"00000000000000a1",
			"name":"host%d.example.com","namespace":"remote","start_time":10.%04d,"end_time":10.9,"fault":true,"cause":"abcdefabcdef0001"}`, 0x1000+i, i, i))
	}
	docs = append(docs, `{"trace_id":"$T","id":"00000000000000a1","name":"api","start_time":10,"end_time":11,"fault":true,
		"cause":{"exceptions":[{"id":"abcdefabcdef0001","type":"Timeout","message":"deadline exceeded"}]}}`)
	in := decodeDocs(b, docs...)
	var bl Builder
	s := bl.Build(testTraceID, in, 0)
	if len(s.Nodes) != 2001 || len(s.FaultRootCauses) != MaxRootCauses {
		b.Fatalf("%d nodes, %d fault root causes", len(s.Nodes), len(s.FaultRootCauses))
	}
	b.ReportAllocs()
	for b.Loop() {
		bl.Build(testTraceID, in, 0)
	}
}
