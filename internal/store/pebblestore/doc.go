// Package pebblestore is the embedded storage backend: segment documents in
// zstd-compressed frames inside a Pebble key-value store, a trace index that
// finds a trace's frames without scanning, and retention by range deletion.
//
// # Write path
//
// A Write sorts its records by service name (the document's first "name"),
// then by trace ID, then by position, so that a trace keeps its write order;
// cuts them into frames of about Options.FrameSize raw bytes; and compresses
// each frame with zstd. Documents of one service look alike, and frames of
// them compress about 17% better than frames in trace order. Frame i of a
// Write is stored under the key seq+i, where seq is the write time in
// nanoseconds, kept strictly increasing. Each trace in the Write gets one
// index key that lists where its documents sit: (frame, run) pairs, a run
// being the trace's consecutive records inside one frame. One Pebble batch
// holds it all and is synced once.
//
// # Placement
//
// Index keys start with the trace's placement second: the epoch second in its
// ID when that is plausible (within [arrival − EpochPast, arrival +
// EpochFuture]), else the trace's first arrival second, recorded once in a
// redirect. Later batches of the same trace find the redirect (in memory or
// on disk) and place it identically; lookups read both the ID's own second and
// the redirect, if any.
//
// # Retention
//
// DropBefore deletes key ranges, never documents one by one: the index and
// the record counts below the cutoff minute, and the frames written more than
// EpochFuture before it (a frame may hold traces placed up to EpochFuture after
// its write time, so it outlives every index key that points into it).
// Redirects are the exception: they are keyed by trace ID for lookups, so the
// few that expire are found through their time-ordered twin and deleted one by
// one.
//
// # Key layout
//
// All integers are big-endian so that byte order is numeric order. "sec" is a
// placement second (uint32 Unix seconds), "seq" a frame sequence (uint64 Unix
// nanoseconds of the write, plus the frame's number within the write).
//
//	| prefix | key                               | value                                          |
//	|--------|-----------------------------------|------------------------------------------------|
//	| m      | m + name                          | metadata; "mformat": format version (uvarint)  |
//	| f      | f + seq(8)                        | frame: codec byte + zstd payload (frame.go)    |
//	| t      | t + sec(4) + traceID(16) + seq(8) | uvarint pairs (frame offset from seq, run)     |
//	| r      | r + traceID(16)                   | redirect: placement sec(4)                     |
//	| p      | p + sec(4) + traceID(16)          | empty: the redirect again, ordered by time     |
//	| c      | c + minute(4)                     | records placed in that minute (varint, merged) |
//	| s      | reserved: per-trace summaries ordered by start time: s + sec(4) + traceID(16)   |
//	| x      | reserved: secondary indexes: x + kind + value + sec(4) + traceID(16)            |
//	| g      | reserved: service-graph and statistics buckets                                 |
//	| d      | reserved: zstd dictionaries: d + dictionary ID                                 |
//
// The "c" values are summed by Pebble with the merger named
// "counterspy.count.v1", which is part of the format too.
//
// The format version (formatVersion) covers this layout and the frame codecs;
// Open refuses a store written by a newer version. Each frame also starts with
// a codec byte, so a new codec can be added while old frames stay readable.
package pebblestore
