// Package store defines the contract between ingest/query and a storage backend.
//
// A backend (the embedded Pebble store, the in-memory reference store,
// ClickHouse) implements Store and must pass the conformance suite in
// package storetest. Nothing above this package knows which backend it
// talks to.
//
// The contract is split by concern, so that a backend can be composed from
// parts (Compose): documents and summaries (TraceStore), service-graph
// counters (GraphStore), function log lines (LogStore) and configuration
// values (MetaStore). Each part is written through the same Writer, with
// the Batch fields of its concern.
//
// Obligations and hints. Everything a method's comment says a backend
// "must" do, or what a read returns, is an obligation the suite checks.
// Fields documented as hints (SummaryRecord.PrevEnd, the "not yet written"
// of SummaryRecord.Terms, SummaryScan.Where) only let a backend save work:
// a backend may ignore them, and a wrong hint never changes what a read
// returns. Optional capabilities (Atomic, TermEstimator, PushDown) are
// interfaces a backend may implement; callers ask with a type assertion and
// fall back to the obligations.
package store

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Record is one accepted segment document as a backend keeps it. Records
// are never deduplicated by a backend: the same document written in two
// batches (a client that resent it) is stored twice, as is a record that
// appears twice in one batch. Only a retry of the same Batch.ID on a
// backend that is not Atomic stores its records once (Writer).
type Record struct {
	TraceID xrayid.TraceID
	ID      xrayid.SegmentID
	// Received is when the document was accepted (Unix nanoseconds). Among
	// documents with the same ID, a reader orders by Received, then by write
	// order, to decide which one wins.
	Received int64
	// Doc is the original document bytes. A backend must return them
	// byte-for-byte.
	Doc []byte
}

// Batch is the unit of a write. What a failed Write leaves behind is
// Writer's rule; a successful one makes all of it durable.
type Batch struct {
	// ID identifies the batch for a retry: a writer that writes the same
	// batch again after a failed Write passes it with the same ID and the
	// same contents, and gives every other batch another ID. 0 means "never
	// retried". Backends that are not Atomic use it to store each part of a
	// batch once (see Writer); Atomic ones may ignore it. The ingest
	// pipeline draws a random 64-bit start per process and counts up, so
	// IDs do not repeat across restarts either (with overwhelming
	// probability).
	ID uint64
	// Records are documents (concern: TraceStore).
	Records []Record
	// Summaries are the new revisions of the summaries of the traces the
	// records belong to (derived by package summarize; concern:
	// TraceStore).
	Summaries []SummaryRecord
	// Graph are additions to the per-minute service-graph counters
	// (concern: GraphStore).
	Graph []GraphDelta
	// Logs are function log lines (Lambda emulator; concern: LogStore).
	Logs []logs.Record
}

// Empty reports whether b holds nothing to store.
func (b *Batch) Empty() bool {
	return b == nil || len(b.Records) == 0 && len(b.Summaries) == 0 && len(b.Graph) == 0 && len(b.Logs) == 0
}

// GraphDelta adds Values to the counters of one service-graph key (a node or
// an edge, encoded by package graph; opaque to the backend) in one minute of
// one group. Counters only add up: a backend keeps, per (Group, Minute, Key),
// the element-wise sum of every delta written (a batch retried under the
// same ID counts once: Writer), and may merge them at any time.
// Sums are float64: exact for whole numbers up to 2^53 in magnitude (which
// is what package graph writes); other values may round differently
// depending on the order a backend adds them in. Write refuses a batch with
// a NaN or infinite value.
type GraphDelta struct {
	// Minute is Unix seconds / 60 (any int64).
	Minute int64
	// Group is the group the counts are for ("" is the Default group:
	// every trace).
	Group string
	Key   string
	// Values are sparse counters: each Index names a counter, Value is
	// added to it. Indexes are unique and ascending within a delta.
	Values []Counter
}

// Counter is one element of a sparse counter vector.
type Counter struct {
	Index uint32
	Value float64
}

// GraphRow is the summed counters of one key in one minute.
type GraphRow struct {
	Minute int64
	Key    string
	// Values are the nonzero sums, ascending by Index.
	Values []Counter
}

// GraphReader reads service-graph counters.
type GraphReader interface {
	// GraphCounters yields, for every minute in [fromMinute, toMinute) and
	// every key with a nonzero sum in that minute, the summed counters of
	// group, ordered by minute then key (bytewise). Counters whose sum is
	// zero are left out of a row, and a row with none is not yielded: a
	// key whose deltas cancelled out is as if never written. Groups are
	// separate: a group's rows hold only the deltas written for it. Values
	// is only valid until the iteration continues; Key stays valid.
	// Iteration stops at the first error, yielded with a zero row.
	GraphCounters(ctx context.Context, group string, fromMinute, toMinute int64) iter.Seq2[GraphRow, error]
}

// MetaStore keeps small named configuration values (groups, sampling
// rules). Keys are any strings; a backend may bound the size of a value.
// DropBefore never removes them.
type MetaStore interface {
	// GetMeta returns the value of key (a copy the caller may keep), and
	// false if there is none.
	GetMeta(ctx context.Context, key string) (value []byte, ok bool, err error)
	// PutMeta sets the value of key. It is durable when it returns, like
	// Write, and the store keeps no reference to value.
	PutMeta(ctx context.Context, key string, value []byte) error
	// DeleteMeta removes key, durably like PutMeta. Deleting a key that
	// does not exist is not an error.
	DeleteMeta(ctx context.Context, key string) error
	// ListMeta yields the keys with prefix and their values (copies), in
	// key order (bytewise); the empty prefix lists everything. Iteration
	// stops at the first error, yielded with a zero entry.
	ListMeta(ctx context.Context, prefix string) iter.Seq2[MetaEntry, error]
}

// MetaEntry is one stored configuration value.
type MetaEntry struct {
	Key   string
	Value []byte
}

// LogQuery selects function log lines. Exactly one of TraceID, RequestID
// and Function is set (else Logs fails); [From, To) bounds the line time:
// From inclusive, To exclusive, zero unbounded.
type LogQuery struct {
	TraceID   string
	RequestID string
	Function  string
	From, To  time.Time
	// Limit caps the lines yielded (0: no cap; negative: an error). Lines
	// come oldest first.
	Limit int
}

// LogReader reads function log lines. A line is found by each of its
// non-empty TraceID, RequestID and Function (a line with none of them by
// nothing: a backend may drop it). Its Time is kept to the nanosecond
// within the int64 range of Unix nanoseconds (the years 1678 to 2262;
// others are clamped to it), and comes back as the same instant in UTC.
type LogReader interface {
	// Logs yields the lines q selects, ordered by Time, lines of equal
	// Time in write order (those of overlapping Writes in either order).
	// A line written in more than one batch comes back as many times (a
	// retry of the same Batch.ID is one batch: Writer). To follow new lines, a caller asks again with From = the
	// last Time seen, and drops the lines of that time it has already
	// seen. Iteration stops at the first error, yielded with a zero
	// record.
	Logs(ctx context.Context, q LogQuery) iter.Seq2[logs.Record, error]
}

// SummaryRecord is the latest summary of one trace and the index terms it
// can be found by. A later SummaryRecord of the same trace replaces the
// summary (within one Batch, the later one in the slice wins); index terms
// only accumulate (a term of an earlier revision may stay, so readers
// re-check every candidate against the summary).
type SummaryRecord struct {
	TraceID xrayid.TraceID
	// End is the trace's last activity, Unix seconds: its position in the
	// ByEnd order. The backend must keep it: a trace has exactly one ByEnd
	// position, the End of its latest revision.
	End int64
	// PrevEnd is a hint: the End of the revision the writer believes is
	// stored (0 for none), so that a backend can drop that ByEnd entry
	// without reading it. It may be wrong (a writer that lost track after
	// a failed Write, a concurrent writer): a backend that uses it must
	// still yield the trace once, at End (the Pebble backend re-checks
	// each ByEnd entry against the summary when it scans).
	PrevEnd int64
	// Summary is the encoded summary, opaque to the backend.
	Summary []byte
	// Terms are the index terms to add for this trace. The writer sends
	// only those it has not written before, but that is a hint: a term
	// written again, or twice in one record, must index the trace once.
	// Terms are never removed except with the trace (DropBefore).
	Terms []Term
	// Fields are the summary's values a backend may keep in columns of its
	// own, to evaluate SummaryScan.Where natively (PushDown). Derived from
	// Summary by the writer; a backend that does not push conditions down
	// ignores them. Zero when unknown.
	Fields SummaryFields
}

// SummaryFields are a summary's plain values, for backends that keep them
// outside the opaque Summary (ClickHouse's columns). Slices are only valid
// during Write.
type SummaryFields struct {
	// Duration and ResponseTime are seconds (X-Ray's duration and
	// responsetime keywords).
	Duration, ResponseTime float64
	// Fault, Error, Throttle: the trace's flags (X-Ray's fault, error,
	// throttle); Partial: in progress or with unresolved calls.
	Fault, Error, Throttle, Partial bool
	// HTTPStatus, HTTPMethod and HTTPURL are the entry segment's request.
	HTTPStatus int
	HTTPMethod string
	HTTPURL    string
	// Services are the names of the trace's services (real and inferred):
	// with ServiceNames, every name each node is matched by (its name and
	// its other names, as service() and edge() match them); without, the
	// primary names only (rows written before ServiceNames existed), and
	// nothing is skipped on a service.
	Services     []string
	ServiceNames bool
	// Inferred: the trace has an inferred node (X-Ray's inferred keyword).
	// The writers that fill ServiceNames fill it, so ServiceNames also
	// says it is known (without, nothing is skipped on it).
	Inferred bool
	// AnnotationKeys are the distinct annotation keys set in the trace.
	AnnotationKeys []string
	// Edges are the calls between services of the trace (not those from
	// the client), one per pair of names the caller and the callee are
	// known by (a node's name and its other names, as service() and
	// edge() match them), with the flags of those calls; HasEdges says
	// that the writer filled them (rows written before they existed are
	// never skipped on them).
	Edges    []EdgeField
	HasEdges bool
	// ServiceFlags are, for every name a node with a flag is known by,
	// the or of those nodes' flags (fault, error, throttle as EdgeFlags):
	// what service("x") { fault } tests. HasServiceFlags says the writer
	// filled them (rows written before are never skipped on a flag).
	ServiceFlags    []ServiceFlag
	HasServiceFlags bool
}

// ServiceFlag is a service name of SummaryFields with the flags of the
// nodes known by it, or'ed.
type ServiceFlag struct {
	Name  string
	Flags EdgeFlags
}

// EdgeField is an edge of SummaryFields: EdgeKey(caller, callee) and the
// flags its calls had.
type EdgeField struct {
	Key   string
	Flags EdgeFlags
}

// EdgeFlags are flags of an edge's calls, or'ed.
type EdgeFlags uint8

// Edge flags: a call of the edge had an error (4xx), a fault (5xx), was
// throttled (429).
const (
	EdgeError EdgeFlags = 1 << iota
	EdgeFault
	EdgeThrottle
)

// EdgeKey names the edge from a service named from to one named to. Two
// pairs may share a key only if a name holds a 0xff byte, which UTF-8
// never does; a shared key would only make a scan yield more rows.
func EdgeKey(from, to string) string { return from + "\xff" + to }

// Term is an index term: a kind in the top byte and a hash of the indexed
// value below it (see package index). Collisions only cost extra candidates.
type Term uint64

// Order is the time order of a summary scan.
type Order uint8

const (
	// ByStart orders traces by their start second: the epoch in the trace
	// ID (or, for implausible IDs, the first arrival), the backend's
	// placement. X-Ray's TimeRangeType TraceId.
	ByStart Order = iota
	// ByEnd orders traces by their last activity (SummaryRecord.End):
	// X-Ray's TimeRangeType Event and Service.
	ByEnd
)

// Position is a place in a scan order: a second and a trace ID.
type Position struct {
	Sec     int64
	TraceID xrayid.TraceID
}

// Less orders positions ascending (seconds, then trace ID bytes).
func (p Position) Less(q Position) bool {
	if p.Sec != q.Sec {
		return p.Sec < q.Sec
	}
	return string(p.TraceID[:]) < string(q.TraceID[:])
}

// SummaryScan asks for the summaries in a time range, newest first.
type SummaryScan struct {
	Order Order
	// From and To bound the position's second: From <= Sec < To.
	From, To int64
	// Before, if non-nil, resumes a scan: only positions strictly before it
	// (in the descending scan order) are returned.
	Before *Position
	// Terms, if non-empty, restricts the scan to traces indexed under any of
	// them (a union; each trace at most once). A backend may also yield
	// traces not indexed under them (the Pebble store's short references
	// and dense terms), as the caller re-checks every row (package query);
	// it never leaves out one that is. Only for ByStart: a ByEnd
	// scan with Terms fails with an error wrapping errors.ErrUnsupported
	// (no backend indexes terms by last activity).
	Terms []Term
	// Where is a hint: conditions every wanted row meets, which a backend
	// that declared them (PushDown) may use to skip rows. A backend may
	// yield rows that do not meet them (the caller re-checks every row), but
	// never leaves out a row that meets them. A row it skips by them is
	// still yielded, with a nil Summary (its position only, nothing to
	// decode): what a caller counts as examined (X-Ray's
	// TracesProcessedCount) must not depend on which backend pushed down.
	Where []FieldCond
	// Fold, when positive, lets a backend that skips rows by Where fold a
	// run of consecutive skipped rows into one SummaryRow (SummaryRow.Folded),
	// so that a scan in which nothing matches does not send every position
	// one by one. Only the first Fold rows of the scan may be folded (a
	// fold counts as its rows): the caller counts rows against a budget
	// (query.Options.MaxExamined) and stops exactly at it, which no fold may
	// straddle. Zero: every row is yielded on its own.
	Fold int
	// Positions: the caller reads only the rows' positions (the query
	// planner's probe), so a backend may yield every row with a nil
	// Summary and save reading them.
	Positions bool
}

// SummaryRow is one scanned summary. Summary is only valid until the
// iteration continues; it is nil for a row skipped by SummaryScan.Where
// (and may be for any row of a SummaryScan.Positions scan).
type SummaryRow struct {
	Pos     Position
	TraceID xrayid.TraceID
	Summary []byte
	// Folded, when above 1, makes a row with a nil Summary stand for that
	// many consecutive rows skipped by Where (SummaryScan.Fold): Pos and
	// TraceID are the last of them in scan order, so that a scan resumed
	// before Pos goes on exactly after the run. 0 or 1: one row.
	Folded int
}

// Trace is what a backend holds for one trace ID.
type Trace struct {
	ID xrayid.TraceID
	// Records are every document stored for the trace, in write order
	// (Received ascending; ties in the order they were written). Duplicates
	// and superseded in-progress documents are included: resolving them is
	// the assembler's job, not the backend's.
	Records []Record
}

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("store: closed")

// ErrNoSpace is returned (wrapped, with the free and needed space) by writes
// a backend refuses because its disk is (nearly) full. Nothing of the batch
// is stored by the backend that refuses it (a composed store may have stored
// other parts: Writer); the same write succeeds once space is freed. Callers answer it
// as a temporary condition (X-Ray API: 503 ThrottlingException).
var ErrNoSpace = errors.New("store: disk full")

// ErrUnavailable is wrapped by the errors of a backend that cannot reach its
// server, or refuses work while it backs off after failures: a temporary
// condition, answered as such (X-Ray API: 503), not an internal failure.
var ErrUnavailable = errors.New("store: unavailable")

// Writer persists batches.
type Writer interface {
	// Write persists b. When Write returns nil, everything in b is durable:
	// it survives a crash of the process (kill -9) and, where the backend
	// syncs to disk, of the machine; and it is visible to every read that
	// starts afterwards.
	//
	// What a failed Write leaves behind (a "half-failed batch") is one of
	// two rules, and a backend declares which:
	//
	//   - Atomic backends (they implement Atomic): a failed Write stored
	//     all of b or none of it, never a part, and readers see it whole or
	//     not at all, before and after a crash. Which of the two is not
	//     always known (a commit whose sync failed may come back on
	//     reopen): the writer must re-read what it needs rather than
	//     assume. ErrNoSpace always means none.
	//   - Other backends may have stored some parts of b. Then writing the
	//     same batch again (same ID, same contents, as often as needed) must
	//     leave the store exactly as one successful Write would: each part
	//     is stored once (records and log lines not duplicated, graph
	//     deltas added once). A batch with ID 0 gets no such guarantee.
	//
	// Who retries: the ingest pipeline (package ingest) does not retry on
	// an Atomic backend: it tells the summarizer, which forgets the batch's
	// traces and resumes them from what the store holds, exact whether the
	// batch was stored or not. On other backends it writes the same batch
	// again, with back-off, until it succeeds, for up to two minutes or
	// until the pipeline closes (after that the batch may stay stored in
	// part, and its traces' graph counts may be off). A client that resends
	// documents after an error sends a new batch: records may then be
	// stored twice, which readers tolerate (duplicates are resolved when a
	// trace is compiled and summarized), and the derived data, rebuilt
	// from the whole trace, counts nothing twice.
	//
	// Write may be called concurrently; a backend may serialize the calls.
	// It must not retain b or its byte slices after it returns.
	Write(ctx context.Context, b *Batch) error
}

// Atomic is implemented by backends whose failed Write stores all of the
// batch or none of it (see Writer). The method does nothing; its presence
// is the declaration.
type Atomic interface {
	AtomicWrites()
}

// IsAtomic reports whether w declares atomic writes.
func IsAtomic(w Writer) bool {
	_, ok := w.(Atomic)
	return ok
}

// Reader reads traces back.
type Reader interface {
	// Traces yields one Trace for each requested ID that has at least one
	// record, in the order requested (a duplicated ID is yielded once).
	// IDs with no records are skipped. Lookups by ID never scan: their cost
	// does not grow with the number of stored traces. Iteration stops at the
	// first error, which is yielded with a nil Trace.
	Traces(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[*Trace, error]
}

// SummaryReader reads trace summaries: by ID, and by time range with an
// optional index restriction. Scans stream: memory does not grow with the
// number of rows.
type SummaryReader interface {
	// Summaries yields the stored summary of each requested trace that has
	// one, in request order (a duplicated ID is yielded once); Pos is its
	// ByStart position.
	Summaries(ctx context.Context, ids []xrayid.TraceID) iter.Seq2[SummaryRow, error]
	// ScanSummaries yields summaries newest first (strictly descending
	// Position: no position twice). Isolation: every summary whose Write
	// returned before the scan started, and that no Write changes during
	// the scan, is yielded; a Write concurrent with the scan may be seen
	// or not, and a trace whose ByEnd position it moves may be yielded at
	// its old position, its new one, both, or neither (callers that page
	// already tolerate that). A yielded summary is always one whole
	// revision. Iteration stops at the first error, yielded with a zero
	// row.
	ScanSummaries(ctx context.Context, q SummaryScan) iter.Seq2[SummaryRow, error]
	// CountTerm counts the traces indexed under term with a start second in
	// [from, to), stopping at limit: planners use it to pick the most
	// selective index.
	CountTerm(ctx context.Context, term Term, from, to int64, limit int) (int, error)
}

// Retention drops old data.
type Retention interface {
	// DropBefore removes the traces that started before cutoff (by their
	// placement second: the start second embedded in their ID, or the
	// first arrival for IDs whose embedded second is implausible), the
	// graph counters of the minutes that ended before it, and the log lines
	// older than it. MetaStore values stay. Backends drop whole time
	// partitions, so data up to one partition older than cutoff may
	// survive; data older than cutoff minus one partition never does, and
	// data at or after cutoff always stays. (The Pebble backend's partition
	// is the minute, and the day for log lines.)
	//
	// Plausible epochs: a trace ID's epoch is plausible when it lies in
	// [first arrival − EpochPast, first arrival + EpochFuture]. The window
	// is the backend's (every backend here defaults to 30 days and 1 hour,
	// DefaultEpochPast and DefaultEpochFuture), fixed when the trace is
	// first written, and never changes the placement of a stored trace.
	DropBefore(ctx context.Context, cutoff time.Time) error
}

// The default plausible-epoch window (see Retention).
const (
	DefaultEpochPast   = 30 * 24 * time.Hour
	DefaultEpochFuture = time.Hour
)

// The parts of a Store, by concern. Each part's Write is called with the
// Batch fields of its concern only (and the batch's ID); Compose builds a
// Store from them. A Store is every part at once.
type (
	// TraceStore keeps documents (Batch.Records) and summaries with their
	// index terms (Batch.Summaries). Records and the summaries derived
	// from them belong together: one part.
	TraceStore interface {
		Writer
		Reader
		SummaryReader
		Retention
		// Stats reports what the part holds.
		Stats(ctx context.Context) (Stats, error)
		Close() error
	}
	// GraphStore keeps service-graph counters (Batch.Graph).
	GraphStore interface {
		Writer
		GraphReader
		Retention
		Close() error
	}
	// LogStore keeps function log lines (Batch.Logs).
	LogStore interface {
		Writer
		LogReader
		Retention
		Close() error
	}
	// MetaPart keeps configuration values.
	MetaPart interface {
		MetaStore
		Close() error
	}
)

// Store is a complete backend.
type Store interface {
	Writer
	Reader
	SummaryReader
	GraphReader
	LogReader
	MetaStore
	Retention
	// Stats reports what the backend holds.
	Stats(ctx context.Context) (Stats, error)
	// Close flushes and releases everything. Reads and writes after Close
	// return ErrClosed.
	Close() error
}

// Stats describes a backend's contents.
type Stats struct {
	// DiskBytes is the size of the backend's files (0 if not applicable).
	DiskBytes int64
	// Records is the number of stored documents, if the backend knows it
	// cheaply (else -1).
	Records int64
}
