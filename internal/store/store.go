// Package store defines the contract between ingest/query and a storage backend.
//
// A backend (the embedded Pebble store, ClickHouse) implements Store and must
// pass the conformance suite in package storetest. Nothing above this package
// knows which backend it talks to.
package store

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Record is one accepted segment document as a backend keeps it.
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

// Batch is the unit of a write: everything in it becomes durable together.
type Batch struct {
	Records []Record
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

// Writer persists batches.
type Writer interface {
	// Write persists b. When Write returns nil, every record in b is durable:
	// it survives a crash of the process (kill -9) and, where the backend
	// syncs to disk, of the machine; and it is visible to every read that
	// starts afterwards. When Write returns an error nothing in b may be
	// assumed stored (a backend may have stored part of it; a retry must be
	// safe, which readers guarantee by tolerating duplicates).
	//
	// Write may be called concurrently; a backend may serialize the calls.
	// It must not retain b or its byte slices after it returns.
	Write(ctx context.Context, b *Batch) error
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

// Store is a complete backend.
type Store interface {
	Writer
	Reader
	// DropBefore removes the traces that started before cutoff (by the
	// start second embedded in their ID, or by first arrival for IDs whose
	// embedded second is implausible). Backends drop whole time partitions,
	// so data up to one partition newer than cutoff may survive; data older
	// than cutoff minus one partition never does.
	DropBefore(ctx context.Context, cutoff time.Time) error
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
