package clickhouse

// The schema runs on ClickHouse 18.16 (Debian's package) and later: no TTL,
// CODEC or skip indexes (docs/clickhouse.md). Times are integers; every
// table that retention trims is partitioned by day number so that
// DropBefore drops whole partitions. Compression is the server's
// (<compression> in its config.xml; LZ4 by default, zstd in our tests).

// schemaVersion is the version of the tables below. Open creates them when
// the database has no version yet and refuses a newer one.
// Version 2 orders summaries by (place, trace_id) and adds summary_ends
// and the fields column; version 3 adds the edges and edge_flags columns
// (migrate.go); version 4 adds the doc_* columns of split documents
// (records.go).
const schemaVersion = 4

var tables = []string{
	`CREATE TABLE IF NOT EXISTS schema_version (version UInt32, applied UInt64) ENGINE = MergeTree ORDER BY version`,
	// Lookups by trace ID read whole granules: the default of 8,192 rows is
	// about 10 MB of documents, so records and summaries use small ones.
	//
	// Documents. place is the trace's placement second (its ID's epoch,
	// or its first arrival for implausible epochs); seq orders writes with
	// equal received. The document is doc, or since version 4 the doc_*
	// columns (records.go).
	`CREATE TABLE IF NOT EXISTS records (
		trace_id FixedString(16), place Int64, received Int64, seq UInt64, seg_id UInt64, doc String, ` + docColumns + `
	) ENGINE = MergeTree PARTITION BY ` + placeDay + ` ORDER BY (trace_id, received, seq) SETTINGS index_granularity = 128`,
	// Placements of traces with implausible ID epochs (first arrival).
	`CREATE TABLE IF NOT EXISTS placements (trace_id FixedString(16), place Int64)
		ENGINE = MergeTree PARTITION BY ` + placeDay + ` ORDER BY trace_id`,
	// Summary revisions: the highest seq of a trace wins at read time.
	// Ordered by placement, so that a scan page reads a range of the
	// primary key (a time slice), not the whole window; lookups by trace
	// ID find the place from the ID's epoch or placements. The flat
	// columns after summary are the writer's SummaryRecord.Fields (the
	// backend never decodes the blob) that scans test for push-down;
	// fields is 1 when the writer filled them (else they are zero and
	// nothing is skipped on them), 2 when they include the edges (rows
	// written before version 3 are never skipped on edges), 3 when
	// services also holds every name of every node and partial's bit 1
	// the inferred flag, 4 those without edges, 5 and 6 the same with
	// the services' flags as entries of services (fieldsVersion,
	// servicesColumn; rows with primary names only are never skipped on
	// a service or inferred, rows without flags on a service's flag).
	summariesDDL,
	// The end second of every summary revision, ordered by it: a ByEnd
	// page reads a slice of it to find its candidate traces.
	`CREATE TABLE IF NOT EXISTS summary_ends (end_sec Int64, place Int64, trace_id FixedString(16))
		ENGINE = ReplacingMergeTree PARTITION BY ` + placeDay + ` ORDER BY (end_sec, trace_id, place)`,
	`CREATE TABLE IF NOT EXISTS terms (term UInt64, place Int64, trace_id FixedString(16))
		ENGINE = ReplacingMergeTree PARTITION BY ` + placeDay + ` ORDER BY (term, place, trace_id)`,
	// Graph counters: SummingMergeTree adds rows of one (grp, minute, key,
	// idx) as it merges; reads sum again, since merges are asynchronous.
	`CREATE TABLE IF NOT EXISTS graph (grp String, minute Int64, gkey String, idx UInt32, value Float64)
		ENGINE = SummingMergeTree(value) PARTITION BY toUInt32(greatest(least(intDiv(minute, 1440), 4294967295), 0))
		ORDER BY (grp, minute, gkey, idx)`,
	`CREATE TABLE IF NOT EXISTS logs (
		time Int64, seq UInt64, function String, log_group String, log_stream String,
		request_id String, trace_id String, stream String, message String
	) ENGINE = MergeTree PARTITION BY toUInt32(greatest(intDiv(time, 86400000000000), 0)) ORDER BY (time, seq)`,
	// Metadata: the highest version of a key wins; deleted marks a
	// deletion.
	`CREATE TABLE IF NOT EXISTS meta (mkey String, version UInt64, deleted UInt8, value String)
		ENGINE = ReplacingMergeTree(version) ORDER BY mkey`,
}

const summariesDDL = `CREATE TABLE IF NOT EXISTS summaries (
		trace_id FixedString(16), place Int64, end_sec Int64, seq UInt64, summary String,
		duration Float64, response_time Float64, fault UInt8, error UInt8, throttle UInt8, partial UInt8,
		http_status UInt16, http_method String, http_url String,
		services Array(String), annotation_keys Array(String), fields UInt8,
		edges Array(String), edge_flags Array(UInt8)
	) ENGINE = ReplacingMergeTree(seq) PARTITION BY ` + placeDay + ` ORDER BY (place, trace_id) SETTINGS index_granularity = 256`

const placeDay = "toUInt32(greatest(intDiv(place, 86400), 0))"

// partitioned are the tables DropBefore trims: each is partitioned by day
// number (of placement, minute or line time), clamped to UInt32 so that no
// partition is named by a negative number.
var partitioned = []string{"records", "placements", "summaries", "summary_ends", "terms", "graph", "logs"}
