// Package pebblestore is the embedded storage backend: segment documents in
// zstd-compressed frames inside a Pebble key-value store, a trace index that
// finds a trace's frames without scanning, trace summaries in start and end
// order with an index of terms, per-minute service-graph counters, function
// log lines, configuration values, and retention by range deletion.
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
// the redirect, if any. Retention finds the redirects of the traces it
// drops through their index keys (a trace placed elsewhere than its epoch
// has one); a redirect written without records also gets a time-ordered
// twin (p key), as format 3 gave every redirect. An in-memory Bloom filter of the redirected IDs
// (redirectfilter.go) answers most "is there a redirect?" questions for new
// traces without a read.
//
// # Summaries and index terms
//
// A Write may carry each trace's latest summary (store.SummaryRecord). It is
// stored at the trace's placement, the same as its records' (a summary
// without records in the Write is placed like a record arriving now), under
// an s key: ByStart scans iterate these backwards, and a later revision
// overwrites the value. Its ByEnd entry, an e key at the End second, holds
// the placement, so a ByEnd scan finds the summary with one lookup; a
// revision deletes the entry of its PrevEnd. The summary value starts with
// its End, so a ByEnd entry left behind by a wrong PrevEnd is recognized
// and skipped. Then comes a 12-byte field header (fieldheader.go): the
// record's flags, Duration, ResponseTime and HTTP status, which scans test
// against SummaryScan.Where to skip rows before yielding them
// (store.PushDown, for those fields only). Values without it, written by
// earlier versions or for records without Fields, read the same and are
// never skipped.
//
// Index terms are j keys, one per term, placement second and reference
// kind, whose value lists references to the traces placed in that second
// indexed under the term: 8 bytes of the trace ID that, with the second,
// are a prefix of its summary key (keys.go, traceRef): the random bytes
// after the epoch for a trace placed at its epoch, the first 8 for one
// placed by arrival. Each Write merges its references into the list (Pebble
// merge operands, united by the store's merger), so a batch costs one key
// per distinct term and second rather than one per trace and term. The
// keys of one term are ordered by second inside an hour bucket
// (termBucketSecs), which leads the key so that retention drops whole hours
// by range. A term scan walks each term's keys backwards, bucket by bucket,
// merges the terms' lists newest first and deduplicates (terms.go), then
// finds each reference's summaries by a seek on the summary keys in the
// same snapshot; empty buckets are skipped with one seek. Two traces of one
// second sharing the 8 bytes (one pair in 2^64 for random IDs) are both
// yielded under a term either has: the query engine re-checks every row.
// Format 3 listed whole 16-byte IDs under i keys; a store upgraded from it
// keeps them, and scans and counts read them beside the j keys.
//
// A term carried by at least half of the summaries written to a bucket
// (dense.go) stops being listed there: a marker key (second 2^32-1, kind
// d) says that every trace of the bucket may carry it, and scans and counts
// of it read the bucket's summary keys instead. The planner never follows
// such a term, so listing it only cost bytes: on Jaeger's tracegen load, 10
// of a trace's 13 terms, 16 of the index's 21 bytes per span.
//
// A trace placed twice (see superseded in summaries.go) is read at its
// epoch placement, the newer one.
//
// # Graph counters
//
// The service-graph counters of a (minute, group, counter key) are one g
// key whose value is a sparse vector (graph.go: varint index deltas, whole
// values as zigzag varints, others as float64 bits). A Write sums its
// deltas per key first and merges one operand per key; the store's merger
// adds vectors element-wise (on read, and at compaction, which also
// deletes keys whose counters all cancelled out). The minute leads the key,
// so that retention is one range; a read of a group's minutes seeks to the
// group in each minute that has counters. An hour of a group (60 minutes ×
// 500 keys × 20 counters) reads in 6–8 ms (26 ms while every row still has
// 10 unmerged operands), at 55–70 B per row on disk; a Write of the deltas
// of 1,000 traces (6,700 deltas into 400 keys) costs 1.4 ms.
//
// # Log lines
//
// Function log lines are found by trace ID, request ID or function, each
// through its own index (l + t, r or f): a key per line and index, the day
// first (for retention), then the ID, the line's time and a sequence
// number that keeps lines of equal time in write order. Each index key
// holds the whole line (logs.go), so a lookup is one range read: over
// 800,000 lines, a trace's 8 lines come in 22–27 µs uncached, at 99 B per
// line on disk for the three indexes. Keeping the line only under f, with
// the other indexes pointing at it, takes 59 B per line and 57 µs per
// lookup (a Get per line). A query walks the days of its window, seeking to
// its ID in each day that has lines: one or two seeks per day with lines.
// Sequence numbers come from the frame sequence (a Write reserves one per
// frame, then one per line); mseq keeps the highest reserved for lines, so
// that it outlives a restart with the clock set back.
//
// # Metadata
//
// MetaStore values are m keys: m + "/" + the caller's key. The store's own
// m keys are named with lowercase letters, so the two never meet.
//
// # Retention
//
// DropBefore deletes key ranges, never documents one by one: the index,
// summaries, record counts and graph counters below the cutoff minute, ByEnd
// entries below it by End, term lists below the cutoff's hour, log lines
// below the cutoff's day (UTC), and the frames written
// more than EpochFuture before it (a frame may hold traces placed up to
// EpochFuture after its write time, so it outlives every index key that
// points into it). Redirects are the exception: they are keyed by trace ID
// for lookups, so the few that expire are found through the index keys of
// their traces (or their time-ordered twin) and deleted one by one. Scans skip what outlives its trace: terms of
// the cutoff's hour, ByEnd entries of traces that ended after the cutoff.
//
// # Key layout
//
// All integers are big-endian so that byte order is numeric order. "sec" is a
// placement second (uint32 Unix seconds), "seq" a frame sequence (uint64 Unix
// nanoseconds of the write, plus the frame's number within the write), "end"
// a trace's End second (clamped to uint32), "hour" a placement second
// divided by 3600, "term" a store.Term. Signed integers have their sign bit
// flipped (so that negatives sort first): "gmin" is a graph minute (int64
// Unix minutes), "ns" a log line's time (int64 Unix nanoseconds), "day" its
// UTC day (int32, ns divided by 86,400 s). "str(x)" is x's length (uvarint)
// and bytes, which keeps strings that prefix each other apart.
//
//	| prefix | key                                            | value                                          |
//	|--------|------------------------------------------------|------------------------------------------------|
//	| m      | m + name                                       | store metadata: "mformat": format version      |
//	|        |                                                | (uvarint); "mseq": last log seq(8) (merged);   |
//	|        |                                                | "mwritten", "mlost": records and log lines     |
//	|        |                                                | written, given up (varint, merged; ledger.go)  |
//	| m/     | m + "/" + key                                  | a MetaStore value, as given                    |
//	| f      | f + seq(8)                                     | frame: codec byte + zstd payload (frame.go)    |
//	| t      | t + sec(4) + traceID(16) + seq(8)              | uvarint pairs (frame offset from seq, run)     |
//	| r      | r + traceID(16)                                | redirect: placement sec(4)                     |
//	| p      | p + sec(4) + traceID(16)                       | empty: the redirect again, ordered by time     |
//	|        |                                                | (since format 4 only without records)          |
//	| c      | c + minute(4)                                  | records placed in that minute (varint, merged) |
//	| s      | s + sec(4) + traceID(16)                       | summary: end(4) + the encoded summary          |
//	| e      | e + end(4) + traceID(16)                       | ByEnd entry: placement sec(4)                  |
//	| j      | j + hour(4) + term(8) + sec(4) + kind(1)       | trace references (8 bytes each, sorted;        |
//	|        |                                                | merged); kind e: by epoch, a: by arrival       |
//	|        | j + hour(4) + term(8) + ffffffff + "d"         | empty: the term is dense in the hour           |
//	| i      | i + hour(4) + term(8) + sec(4)                 | format 3: trace IDs (16 bytes each, sorted;    |
//	|        |                                                | merged); read, no longer written               |
//	| g      | g + gmin(8) + str(group) + counter key         | counters: codec byte + vector (merged)         |
//	| lt     | lt + day(4) + str(traceID) + ns(8) + seq(8)    | log line: codec byte + its strings             |
//	| lr     | lr + day(4) + str(requestID) + ns(8) + seq(8)  | the same line                                  |
//	| lf     | lf + day(4) + str(function) + ns(8) + seq(8)   | the same line                                  |
//	| d      | reserved: zstd dictionaries: d + dictionary ID |                                                |
//
// Next to Pebble's files, COUNTERSPY-ACKED counts the records and log lines
// acknowledged (ledger.go); Open compares it with mwritten.
//
// The c, i, j and g values, mseq, mwritten and mlost are merged by Pebble with the merger named
// "counterspy.count.v1" (a name kept from format 1, when it only summed
// counts; Pebble refuses a store whose merger has another name), which is
// part of the format too: it tells the kinds apart by key.
//
// The format version (formatVersion) covers this layout and the frame, graph
// and log codecs; Open refuses a store written by a newer version and
// upgrades a version 1 to 3 store in place (it has none of the keys added
// since; a version 3 store's i keys and p twins stay, read and dropped as
// before), and opens one read-only as it is. Each frame, graph value and log value also starts with a codec
// byte, so a new codec can be added while old values stay readable.
package pebblestore
