package assemble

import (
	"strings"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// InferredNode is the service-graph node of a downstream call whose callee
// sends no segments of its own (inferred segments:
// https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-inferred).
type InferredNode struct {
	// Name is the node name: the DynamoDB table, the SQS queue (last path
	// element of its URL), the S3 bucket, or else the subsegment's name. The
	// inferred segment document is named after the subsegment instead
	// (e.g. "DynamoDB"), as X-Ray does.
	Name string
	// Type is the node type and the inferred segment's origin:
	// AWS::DynamoDB::Table, AWS::SQS::Queue, AWS::S3::Bucket, AWS::<name>,
	// Database::SQL or remote.
	Type string
}

// InferNode tells which node subsegment s stands for when its callee sends
// no segment of its own. ok is false for subsegments that make no node: only
// namespace "aws" or "remote", or an sql object, do.
//
// It is the one rule both Compile (inferred segment documents) and the
// service graph use. The caller checks the other half of the rule: when a real
// segment in the trace has parent_id == s.ID, that segment is the node and no
// inferred one is made.
func InferNode(s *segment.Entity) (node InferredNode, ok bool) {
	kind := classify(s.Namespace == "aws", s.Namespace == "remote",
		s.AWS.TableName != "", s.AWS.QueueURL != "", s.AWS.BucketName != "", s.SQL != nil)
	switch kind {
	case kindNone:
		return InferredNode{}, false
	case kindDynamoDB:
		return InferredNode{Name: s.AWS.TableName, Type: kind.nodeType()}, true
	case kindSQS:
		return InferredNode{Name: queueName(s.AWS.QueueURL), Type: kind.nodeType()}, true
	case kindS3:
		return InferredNode{Name: s.AWS.BucketName, Type: kind.nodeType()}, true
	case kindAWS:
		return InferredNode{Name: s.Name, Type: "AWS::" + s.Name}, true
	}
	return InferredNode{Name: s.Name, Type: kind.nodeType()}, true
}

// InferredSegmentID is the ID of the inferred segment made for subsegment id.
// It is a bijection (the splitmix64 finalizer), so it is stable across
// compilations and distinct subsegments never share an inferred ID.
func InferredSegmentID(id xrayid.SegmentID) xrayid.SegmentID {
	x := uint64(id)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return xrayid.SegmentID(x)
}

type inferKind uint8

const (
	kindNone inferKind = iota
	kindDynamoDB
	kindSQS
	kindS3
	kindAWS // any other AWS service: AWS::<subsegment name>
	kindSQL
	kindRemote
)

// classify is the inference table (AWS documents the DynamoDB table and SNS
// nodes; SQS, S3, remote and SQL follow what X-Ray shows for them). An AWS SDK call is classified by the AWS
// resource it names before anything else; an sql object makes a database
// whatever the namespace; remote calls with or without http are "remote".
func classify(isAWS, isRemote, table, queue, bucket, sql bool) inferKind {
	switch {
	case isAWS && table:
		return kindDynamoDB
	case isAWS && queue:
		return kindSQS
	case isAWS && bucket:
		return kindS3
	case isAWS:
		return kindAWS
	case sql:
		return kindSQL
	case isRemote:
		return kindRemote
	}
	return kindNone
}

// nodeType is the node type of every kind but kindAWS, whose type depends on
// the subsegment's name.
func (k inferKind) nodeType() string {
	switch k {
	case kindDynamoDB:
		return "AWS::DynamoDB::Table"
	case kindSQS:
		return "AWS::SQS::Queue"
	case kindS3:
		return "AWS::S3::Bucket"
	case kindSQL:
		return "Database::SQL"
	case kindRemote:
		return "remote"
	}
	return ""
}

func queueName(url string) string {
	url = strings.TrimRight(url, "/")
	return url[strings.LastIndexByte(url, '/')+1:]
}

func (c *Compiler) inferKind(ev *entView) inferKind {
	b := c.docs[ev.doc].raw
	return classify(tokenIs(b, ev.namespace, "aws", &c.tmp), tokenIs(b, ev.namespace, "remote", &c.tmp),
		ev.table.ok(), ev.queue.ok(), ev.bucket.ok(), ev.hasSQL)
}
