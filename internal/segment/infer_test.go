package segment

import (
	"testing"

	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestInferNode(t *testing.T) {
	f := func(e Entity, want InferredNode, wantOK bool) {
		t.Helper()
		got, ok := InferNode(&e)
		if got != want || ok != wantOK {
			t.Errorf("InferNode(%+v) = %+v, %v; want %+v, %v", e, got, ok, want, wantOK)
		}
	}
	aws := func(name string, a AWS) Entity {
		return Entity{Name: name, Namespace: "aws", AWS: a}
	}
	f(aws("DynamoDB", AWS{TableName: "orders"}), InferredNode{"orders", "AWS::DynamoDB::Table"}, true)
	f(aws("SQS", AWS{QueueURL: "https://sqs.us-east-1.amazonaws.com/1234/jobs"}), InferredNode{"jobs", "AWS::SQS::Queue"}, true)
	f(aws("SQS", AWS{QueueURL: "https://sqs.us-east-1.amazonaws.com/1234/jobs/"}), InferredNode{"jobs", "AWS::SQS::Queue"}, true)
	f(aws("S3", AWS{BucketName: "assets"}), InferredNode{"assets", "AWS::S3::Bucket"}, true)
	f(aws("SNS", AWS{TopicARN: "arn:aws:sns:us-east-1:1234:news"}), InferredNode{"SNS", "AWS::SNS"}, true)
	f(aws("RDSData", AWS{}), InferredNode{"RDSData", "AWS::RDSData"}, true)
	f(Entity{Name: "api.example.com", Namespace: "remote", HTTP: HTTP{URL: "https://api.example.com/"}},
		InferredNode{"api.example.com", "remote"}, true)
	f(Entity{Name: "grpc-backend", Namespace: "remote"}, InferredNode{"grpc-backend", "remote"}, true)
	f(Entity{Name: "db@host", Namespace: "remote", SQL: &SQL{URL: "host/db"}}, InferredNode{"db@host", "Database::SQL"}, true)
	f(Entity{Name: "db@host", SQL: &SQL{}}, InferredNode{"db@host", "Database::SQL"}, true)
	f(Entity{Name: "compute", Namespace: "local"}, InferredNode{}, false)
	f(Entity{Name: "handler"}, InferredNode{}, false)
	f(Entity{Name: "DynamoDB", AWS: AWS{TableName: "orders"}}, InferredNode{}, false) // no namespace
}

func TestInferredSegmentID(t *testing.T) {
	if got, want := InferredSegmentID(0x0123456789abcdef).String(), "b2c058e4ebb5112c"; got != want {
		t.Errorf("InferredSegmentID changed: %s, want %s (stored inferred IDs would move)", got, want)
	}
	seen := map[xrayid.SegmentID]bool{}
	for i := xrayid.SegmentID(1); i < 5000; i++ {
		id := InferredSegmentID(i)
		if id == 0 || seen[id] {
			t.Fatalf("InferredSegmentID(%d) = %s: zero or repeated", i, id)
		}
		seen[id] = true
	}
}
