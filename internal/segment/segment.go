// Package segment decodes and validates X-Ray segment documents.
//
// Decoding happens once, on ingest: it keeps the original bytes (the record of
// truth that BatchGetTraces returns) and extracts a digest of every field the
// assembler, the indexes, the filters and the service graph need, so nothing
// downstream parses JSON again.
package segment

import (
	"fmt"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// MaxDocumentSize is the default document size limit (X-Ray's 64 kB).
const MaxDocumentSize = 64 * 1024

// Segment is one accepted document: a segment or an independent subsegment,
// with its nested subsegments flattened into Entities.
type Segment struct {
	// Raw is the document exactly as sent (or, for a document that needed
	// Repairs, as repaired). For a JSON array of subsegments
	// (allowed by PutTraceSegments) each element becomes its own Segment and
	// Raw holds that element's bytes.
	Raw []byte

	TraceID xrayid.TraceID
	// ParentID is the document's parent_id (0 when absent). For an
	// independent subsegment it names the segment or subsegment it belongs to.
	ParentID xrayid.SegmentID
	// Independent is true for "type":"subsegment" documents sent on their own.
	Independent bool

	// Entities holds the document's root entity at index 0, then every nested
	// subsegment in depth-first pre-order. Entity.Parent indexes this slice.
	Entities []Entity

	// Links are span links (trace linking), from the root entity only.
	Links []Link

	// Repairs are the changes made to a document with malformed optional
	// fields so that it could be kept (Raw is then the repaired document;
	// see repair.go). Nil for most documents.
	Repairs []Repair
}

// Root returns the document's top-level entity.
func (s *Segment) Root() *Entity { return &s.Entities[0] }

// ID returns the document's own ID.
func (s *Segment) ID() xrayid.SegmentID { return s.Entities[0].ID }

// Entity is a segment or a subsegment.
type Entity struct {
	ID xrayid.SegmentID
	// Parent is the index in Segment.Entities of the enclosing entity, or -1
	// for the document's root.
	Parent int32

	Name      string
	Namespace string // "aws", "remote", "local" or empty
	Origin    string // segments only: AWS::Lambda, AWS::EC2::Instance, ...

	// Start and End are seconds since the Unix epoch. End is 0 when InProgress.
	Start, End float64
	InProgress bool

	Error, Fault, Throttle bool
	// Traced is http.request.traced (or the Node SDK's top-level "traced"):
	// the callee is instrumented and will send its own segment.
	Traced bool

	User        string
	ResourceARN string
	HTTP        HTTP
	AWS         AWS
	SQL         *SQL

	Annotations []Annotation
	Cause       Cause
	// PrecursorIDs are the sibling subsegments that finished before this one.
	PrecursorIDs []xrayid.SegmentID
}

// HTTP holds the http object. Zero values mean absent.
type HTTP struct {
	Method, URL, UserAgent, ClientIP string
	XForwardedFor                    bool
	Status                           int // 0 = absent
	ContentLength                    int64
}

// AWS holds the fields of the aws object that inference, summaries and filters
// use; the object itself stays in Raw.
type AWS struct {
	AccountID     string
	Operation     string
	Region        string
	RequestID     string
	TableName     string
	QueueURL      string
	BucketName    string
	TopicARN      string
	FunctionARN   string // Lambda function segments
	FunctionName  string
	ResourceNames []string
	// EC2/ECS placement, for InstanceIds and AvailabilityZones.
	InstanceID       string
	AvailabilityZone string
	// LogGroups from aws.cloudwatch_logs[].log_group.
	LogGroups []string
}

// SQL holds the sql object of a database call.
type SQL struct {
	URL, ConnectionString, SanitizedQuery, DatabaseType, DatabaseVersion, DriverVersion, User, Preparation string
}

// AnnotationType is the JSON type of an annotation value.
type AnnotationType uint8

const (
	AnnotationString AnnotationType = iota + 1
	AnnotationNumber
	AnnotationBool
)

// Annotation is one indexed key/value pair.
type Annotation struct {
	Key    string
	Type   AnnotationType
	String string
	Number float64
	Bool   bool
}

// Cause is the cause object, or a reference to an exception recorded elsewhere.
type Cause struct {
	// ExceptionID is set when cause is a bare exception ID (or {"id": ...}).
	ExceptionID      string
	WorkingDirectory string
	Exceptions       []Exception
}

// Exception is one entry of cause.exceptions.
type Exception struct {
	ID        string
	Message   string
	Type      string
	Remote    bool
	Truncated int
	Skipped   int
	Cause     string // ID of the exception that caused this one
	Stack     []StackFrame
}

// StackFrame is one stack entry; Line is 0 when absent or null.
type StackFrame struct {
	Path  string
	Line  int
	Label string
}

// Link is a span link to another trace (SQS → Lambda trace linking).
type Link struct {
	TraceID xrayid.TraceID
	ID      xrayid.SegmentID
}

// Error codes reported in UnprocessedTraceSegments and in the rejected-datagram
// metric. InvalidTraceId and InvalidSegment are codes AWS itself returns.
const (
	CodeInvalidJSON          = "InvalidJson"
	CodeInvalidTraceID       = "InvalidTraceId"
	CodeInvalidID            = "InvalidSegmentId"
	CodeMissingRequiredField = "MissingRequiredField"
	CodeInvalidSegment       = "InvalidSegment"
	CodeInvalidAnnotation    = "InvalidAnnotation"
	CodeSegmentTooLarge      = "SegmentTooLarge"
	// CodeExpired and CodeFutureTime are Window's: times already past
	// retention, or too far ahead of the server's clock.
	CodeExpired    = "SegmentExpired"
	CodeFutureTime = "SegmentInFuture"
)

// Codes lists every error code, for metrics that must exist before the first error.
var Codes = []string{CodeInvalidJSON, CodeInvalidTraceID, CodeInvalidID, CodeMissingRequiredField,
	CodeInvalidSegment, CodeInvalidAnnotation, CodeSegmentTooLarge, CodeExpired, CodeFutureTime}

// Error is a rejected document: a stable Code and a precise Message that names
// the field and what was wrong with it.
type Error struct {
	Code    string
	Message string
	// ID is the document's "id" when it could be read (PutTraceSegments
	// reports it back), else empty.
	ID string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }
