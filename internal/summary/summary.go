// Package summary defines what queries know about one trace: its X-Ray trace
// summary (GetTraceSummaries), its own small service graph (nodes and edges
// with every request and call on them), and its root causes. Filters evaluate
// a Summary, GetTraceSummaries renders it, the service graph aggregates its
// nodes and edges. It is derived from the trace's decoded documents and
// recomputed (Revision+1) whenever a document of the trace arrives.
package summary

import (
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Summary is the query-side view of one trace. Times are seconds since the
// Unix epoch, as in segment documents.
type Summary struct {
	TraceID xrayid.TraceID
	// Revision counts the updates of this trace (1 for the first).
	Revision uint32
	// Documents is the number of stored documents (duplicates included).
	Documents uint32

	// Start is the earliest start of any entity; End the latest end (or, for
	// in-progress entities, start).
	Start, End float64
	// Duration is End − Start; ResponseTime is the entry segment's
	// end − start (0 while it is in progress).
	Duration, ResponseTime float64
	// FirstSeen and LastSeen are the arrival times (Unix nanoseconds) of the
	// trace's first and latest documents: the "event" time of the trace.
	FirstSeen, LastSeen int64

	// Trace-level flags, from the entry segment (HasFault, HasError), any
	// segment (HasThrottle), in-progress or unresolved traced calls
	// (IsPartial), inferred segments (HasInferred).
	HasFault, HasError, HasThrottle, IsPartial, HasInferred bool

	// Entry is the index in Nodes of the entry-point service (the node of
	// the root segment: no parent inside the trace; the earliest if
	// several), or -1 while no segment is known.
	Entry int32
	// HTTP is the entry segment's request and response.
	HTTP HTTP

	// Nodes are the services of the trace (real and inferred; the client
	// node is implicit: every edge with From == -1 comes from it).
	Nodes []Node
	// Edges are the calls between nodes, seen from the caller.
	Edges []Edge

	// Annotations are the distinct (key, value) pairs set anywhere in the
	// trace, in first-seen order, at most 50 distinct keys (X-Ray's limit).
	Annotations []Annotation
	// Users are the distinct user values.
	Users []User
	// ResourceARNs, InstanceIDs and AvailabilityZones are distinct values
	// from any segment.
	ResourceARNs, InstanceIDs, AvailabilityZones []string

	FaultRootCauses, ErrorRootCauses []RootCause
	// ResponseTimeRootCauses carry Coverage instead of Exceptions.
	ResponseTimeRootCauses []RootCause
}

// HTTP is the http information a summary keeps.
type HTTP struct {
	URL, Method, UserAgent, ClientIP string
	Status                           int
}

// Node is one service of the trace graph: identity (Name, Type, AccountID).
type Node struct {
	Name string
	// Names are every name the node is known by (the canonical one first),
	// e.g. the subsegment name a caller used for it.
	Names     []string
	Type      string // origin, or the inferred type; "" when unknown
	AccountID string
	Inferred  bool
	// Root is true for the entry-point service.
	Root bool
	// Requests are the node's own segments (server view), one per request.
	Requests []Call
	// Flags and times over Requests, precomputed for filters: any request
	// with the flag; Ok when any completed request had none; ResponseTime is
	// the largest response time.
	Ok, Error, Fault, Throttle bool
	ResponseTime               float64
	// HTTP is the first request's http information.
	HTTP HTTP
}

// Edge is the caller's view of calls from one node to another.
type Edge struct {
	// From is the caller's index in Nodes, or -1 for the client.
	From, To int32
	// Calls are the caller's subsegments (for client edges, the callee's
	// root segments), one per call.
	Calls []Call
	// Aliases are names the caller used for the callee that differ from its
	// node name.
	Aliases []string
	// Link marks an asynchronous link (span links: SQS → Lambda).
	Link bool
	// Flags, times and HTTP over Calls, as for Node.
	Ok, Error, Fault, Throttle bool
	ResponseTime               float64
	HTTP                       HTTP
}

// Call is one request handled (Node.Requests) or made (Edge.Calls).
type Call struct {
	ID                     xrayid.SegmentID
	Start, End             float64 // End is 0 while in progress
	InProgress             bool
	Error, Fault, Throttle bool
	Status                 int // HTTP status, 0 if none
}

// Annotation is one distinct annotation value and the nodes that set it.
type Annotation struct {
	Key   string
	Value segment.Annotation // Value.Key == Key
	Nodes []int32
}

// User is one distinct user value and the nodes that set it.
type User struct {
	Name  string
	Nodes []int32
}

// RootCause is one entry of a root-cause list (X-Ray's FaultRootCause,
// ErrorRootCause and ResponseTimeRootCause share this shape).
type RootCause struct {
	Services        []RootCauseService
	ClientImpacting bool
}

// RootCauseService is a service on a root-cause path.
type RootCauseService struct {
	Name       string
	Names      []string
	Type       string
	AccountID  string
	Inferred   bool
	EntityPath []RootCauseEntity
}

// RootCauseEntity is a segment or subsegment on a root-cause path.
type RootCauseEntity struct {
	Name       string
	Exceptions []RootCauseException // fault and error root causes
	Remote     bool
	Coverage   float64 // response-time root causes: duration / entry response time
}

// RootCauseException is an exception of a root-cause entity.
type RootCauseException struct {
	Name    string // the exception type
	Message string
}
