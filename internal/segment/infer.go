package segment

import (
	"strings"

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
// It is the one rule both the read side (assemble.Compile's inferred segment
// documents, which classifies raw bytes with ClassifyInferred) and the write
// side (the summary's service graph) use. The caller checks the other half of
// the rule: when a real segment in the trace has parent_id == s.ID, that
// segment is the node and no inferred one is made.
func InferNode(s *Entity) (node InferredNode, ok bool) {
	kind := ClassifyInferred(s.Namespace == "aws", s.Namespace == "remote",
		s.AWS.TableName != "", s.AWS.QueueURL != "", s.AWS.BucketName != "", s.SQL != nil)
	switch kind {
	case InferNone:
		return InferredNode{}, false
	case InferDynamoDB:
		return InferredNode{Name: s.AWS.TableName, Type: kind.NodeType()}, true
	case InferSQS:
		return InferredNode{Name: queueName(s.AWS.QueueURL), Type: kind.NodeType()}, true
	case InferS3:
		return InferredNode{Name: s.AWS.BucketName, Type: kind.NodeType()}, true
	case InferAWS:
		return InferredNode{Name: s.Name, Type: "AWS::" + s.Name}, true
	}
	return InferredNode{Name: s.Name, Type: kind.NodeType()}, true
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

// InferKind is the kind of node a subsegment infers (InferNone: none).
type InferKind uint8

// The kinds of inferred node.
const (
	InferNone InferKind = iota
	InferDynamoDB
	InferSQS
	InferS3
	InferAWS // any other AWS service: AWS::<subsegment name>
	InferSQL
	InferRemote
)

// ClassifyInferred is the inference table (AWS documents the DynamoDB table
// and SNS nodes; SQS, S3, remote and SQL follow what X-Ray shows for them),
// on the facts about a subsegment it depends on, so that callers holding a
// decoded Entity (InferNode) and callers holding raw bytes (assemble) share
// it. An AWS SDK call is classified by the AWS resource it names before
// anything else; an sql object makes a database whatever the namespace;
// remote calls with or without http are "remote".
func ClassifyInferred(isAWS, isRemote, table, queue, bucket, sql bool) InferKind {
	switch {
	case isAWS && table:
		return InferDynamoDB
	case isAWS && queue:
		return InferSQS
	case isAWS && bucket:
		return InferS3
	case isAWS:
		return InferAWS
	case sql:
		return InferSQL
	case isRemote:
		return InferRemote
	}
	return InferNone
}

// NodeType is the node type of every kind but InferAWS, whose type depends
// on the subsegment's name (AWS::<name>), and InferNone ("").
func (k InferKind) NodeType() string {
	switch k {
	case InferDynamoDB:
		return "AWS::DynamoDB::Table"
	case InferSQS:
		return "AWS::SQS::Queue"
	case InferS3:
		return "AWS::S3::Bucket"
	case InferSQL:
		return "Database::SQL"
	case InferRemote:
		return "remote"
	}
	return ""
}

func queueName(url string) string {
	url = strings.TrimRight(url, "/")
	return url[strings.LastIndexByte(url, '/')+1:]
}
