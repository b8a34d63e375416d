package assemble

import (
	"encoding/json"
	"testing"

	"github.com/counterspy/counterspy/internal/segment"
)

func TestInferNode(t *testing.T) {
	f := func(e segment.Entity, want InferredNode, wantOK bool) {
		t.Helper()
		got, ok := InferNode(&e)
		if got != want || ok != wantOK {
			t.Errorf("InferNode(%+v) = %+v, %v; want %+v, %v", e, got, ok, want, wantOK)
		}
	}
	aws := func(name string, a segment.AWS) segment.Entity {
		return segment.Entity{Name: name, Namespace: "aws", AWS: a}
	}
	f(aws("DynamoDB", segment.AWS{TableName: "orders"}), InferredNode{"orders", "AWS::DynamoDB::Table"}, true)
	f(aws("SQS", segment.AWS{QueueURL: "https://sqs.us-east-1.amazonaws.com/1234/jobs"}), InferredNode{"jobs", "AWS::SQS::Queue"}, true)
	f(aws("SQS", segment.AWS{QueueURL: "https://sqs.us-east-1.amazonaws.com/1234/jobs/"}), InferredNode{"jobs", "AWS::SQS::Queue"}, true)
	f(aws("S3", segment.AWS{BucketName: "assets"}), InferredNode{"assets", "AWS::S3::Bucket"}, true)
	f(aws("SNS", segment.AWS{TopicARN: "arn:aws:sns:us-east-1:1234:news"}), InferredNode{"SNS", "AWS::SNS"}, true)
	f(aws("RDSData", segment.AWS{}), InferredNode{"RDSData", "AWS::RDSData"}, true)
	f(segment.Entity{Name: "api.example.com", Namespace: "remote", HTTP: segment.HTTP{URL: "https://api.example.com/"}},
		InferredNode{"api.example.com", "remote"}, true)
	f(segment.Entity{Name: "grpc-backend", Namespace: "remote"}, InferredNode{"grpc-backend", "remote"}, true)
	f(segment.Entity{Name: "db@host", Namespace: "remote", SQL: &segment.SQL{URL: "host/db"}}, InferredNode{"db@host", "Database::SQL"}, true)
	f(segment.Entity{Name: "db@host", SQL: &segment.SQL{}}, InferredNode{"db@host", "Database::SQL"}, true)
	f(segment.Entity{Name: "compute", Namespace: "local"}, InferredNode{}, false)
	f(segment.Entity{Name: "handler"}, InferredNode{}, false)
	f(segment.Entity{Name: "DynamoDB", AWS: segment.AWS{TableName: "orders"}}, InferredNode{}, false) // no namespace
}

// TestInferredEscapes checks that escaped names and namespaces are read
// decoded and written as sent.
func TestInferredEscapes(t *testing.T) {
	c := mustCompile(t, traceOfStrings(
		`{"name":"web","id":"70de5b6f19ff9a0a","start_time":1,"end_time":2,"subsegments":[`+
			`{"name":"S\"N\u0053","id":"0000000000000d01","namespace":"a\u0077s","start_time":1.5,"end_time":2}]}`,
	), CompileOptions{})
	var got struct{ Name, Origin string }
	if len(c.Segments) != 2 || json.Unmarshal(c.Segments[1].Document, &got) != nil {
		t.Fatalf("got %q", c.Segments)
	}
	if got.Name != `S"NS` || got.Origin != `AWS::S"NS` {
		t.Errorf("got name %q origin %q", got.Name, got.Origin)
	}
}
