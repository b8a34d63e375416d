// Package graph turns trace summaries into the service graph's per-minute
// counters at ingest, and counters (or summaries) back into X-Ray's service
// graph at query time (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-servicegraph,
// https://docs.aws.amazon.com/xray/latest/api/API_GetServiceGraph.html). It does no I/O.
//
// # Ingest
//
// Contributions lists what one revision of a trace adds to the counters:
// for every node of the trace's own graph, its requests (server view), and
// for every edge, its calls (caller view; client → entry edges from the
// root segments), each in the minute its request ended, for the Default
// group ("") and every group the trace matches. Diff gives the deltas from
// one revision's contributions to the next, so a re-attribution (an inferred
// node replaced by the callee's own segment, a request that completes, a
// trace that starts matching a group) updates the counters exactly.
//
// # Keys
//
// A counter key (store.GraphDelta.Key) is a node identity (name, type,
// account) or an edge (caller identity, callee identity, link flag, the
// names the caller used for the callee). Client nodes have type "client"
// and the entry service's name, as in X-Ray. See NodeKey, EdgeKey and
// ParseKey for the persisted encoding.
//
// # Counters
//
// Each key has, per minute, a sparse vector of additive counters whose
// indexes are persisted and never renumbered:
//
//	0 OK             completed requests without error, fault or throttle
//	1 ErrorOther     errors (4xx) that are not throttles
//	2 Throttle       throttled requests (429)
//	3 Fault          faults (5xx)
//	4 ResponseTimeUs sum of response times (end − start), whole microseconds
//	5 Sent           nodes: requests of segments the service sent itself
//	                 (State "active"); inferred requests do not count
//	6 InProgress     requests still in progress, in the minute they started
//	65536 + b        response-time histogram, bucket b (see Bucket)
//	131072 + b       nodes: requests whose duration is in bucket b and
//	                 their response time in another bucket
//	196608 + b       nodes: the same requests, by response-time bucket b
//
// A node's duration histogram is its response-time histogram with the
// requests counted at 196608 + b moved to the buckets counted at
// 131072 + b; for the usual request, whose work is done when it answers,
// nothing is stored.
//
// Every value is a whole number (counts, microseconds), so float64 sums and
// differences are exact up to 2^53. The histogram bucket layout (Bucket:
// log-linear, 32 buckets per power of two of microseconds) is persisted
// with the indexes: a different layout must use new indexes.
//
// # Query
//
// An Aggregator sums the counter rows of a window into X-Ray Services
// (GetServiceGraph); TraceGraph builds the same model directly from a few
// summaries (GetTraceGraph); a Series sums rows into per-period statistics
// of the nodes or edges a Selector picks (GetTimeSeriesServiceStatistics).
package graph
