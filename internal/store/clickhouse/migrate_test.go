package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// summariesV1 is schema version 1's summaries table (ordered by trace_id,
// without the fields column).
const summariesV1 = `CREATE TABLE IF NOT EXISTS summaries (
		trace_id FixedString(16), place Int64, end_sec Int64, seq UInt64, summary String,
		duration Float64, response_time Float64, fault UInt8, error UInt8, throttle UInt8, partial UInt8,
		http_status UInt16, http_method String, http_url String,
		services Array(String), annotation_keys Array(String)
	) ENGINE = ReplacingMergeTree(seq) PARTITION BY toUInt32(greatest(intDiv(place, 86400), 0)) ORDER BY trace_id SETTINGS index_granularity = 256`

// TestMigrateV1 opens a version 1 database (summaries as version 1 wrote
// them: two revisions of one trace, a trace whose writer sent no Fields)
// and checks that its summaries read and scan the same after the
// migration, that push-down knows which rows had Fields, and that an
// interrupted migration (renamed away, not copied) finishes at the next
// Open.
func TestMigrateV1(t *testing.T) {
	srv := startServer(t)
	for _, interrupted := range []bool{false, true} {
		t.Run(fmt.Sprintf("interrupted=%v", interrupted), func(t *testing.T) {
			testMigrateV1(t, []*chtest.Server{srv}, "", interrupted)
		})
	}
}

// TestMigrateV1Cluster migrates a version 1 database spread over two
// shards: each shard's local table, and the Distributed table over them.
func TestMigrateV1Cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a two-shard cluster; run without -short")
	}
	srvs := chtest.StartCluster(t, "cs", 2)
	for _, interrupted := range []bool{false, true} {
		t.Run(fmt.Sprintf("interrupted=%v", interrupted), func(t *testing.T) {
			testMigrateV1(t, srvs, "cs", interrupted)
		})
	}
}

// v1Tables creates version 1's schema_version and summaries tables (the
// others did not change) on every server: as local tables behind
// Distributed ones when cluster is set, as cluster.go made them. It
// returns a connection to write through.
func v1Tables(t *testing.T, srvs []*chtest.Server, db, cluster string) *Store {
	return schemaTables(t, srvs, db, cluster, summariesV1)
}

// schemaTables is v1Tables with another version's summaries table.
func schemaTables(t *testing.T, srvs []*chtest.Server, db, cluster, summariesDDL string) *Store {
	ctx := context.Background()
	var first *Store
	for _, srv := range srvs {
		o := Options{Addr: srv.Addr, Database: db, User: "default", DialTimeout: 5 * time.Second, Cluster: cluster}
		boot, err := connect(o, "default", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := boot.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
		boot.Close()
		var settings map[string]any
		if cluster != "" {
			settings = clusterSettings
		}
		conn, err := connect(o, db, settings)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		ddl := []string{tables[0], summariesDDL}
		if cluster != "" {
			ddl = []string{
				strings.Replace(tables[0], "EXISTS schema_version", "EXISTS schema_version_local", 1),
				strings.Replace(summariesDDL, "EXISTS summaries", "EXISTS summaries_local", 1),
				fmt.Sprintf("CREATE TABLE schema_version AS schema_version_local ENGINE = Distributed(%s, %s, schema_version_local, 0)", cluster, db),
				fmt.Sprintf("CREATE TABLE summaries AS summaries_local ENGINE = Distributed(%s, %s, summaries_local, cityHash64(trace_id))", cluster, db),
			}
		}
		for _, q := range ddl {
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if first == nil {
			first = &Store{conn: conn, opts: o}
		}
	}
	return first
}

func testMigrateV1(t *testing.T, srvs []*chtest.Server, cluster string, interrupted bool) {
	ctx := context.Background()
	db := fmt.Sprintf("migrate_%d", dbs.Add(1))
	v1 := v1Tables(t, srvs, db, cluster)
	setSchemaVersion(t, v1, 1)
	T := time.Now().Unix()
	id := func(i byte) xrayid.TraceID { return traceAt(T-10, i) }
	a, b, c := id(1), id(2), id(3)
	type rev struct {
		id        xrayid.TraceID
		end       int64
		seq       uint64
		sum       string
		fault     uint8
		status    uint16
		services  []string
		annotated []string
	}
	revs := []rev{
		{a, T - 5, 1, "a1", 0, 200, []string{"web"}, []string{}},
		{a, T - 1, 5, "a2", 1, 500, []string{"web", "db"}, []string{"k"}},
		{b, T - 3, 2, "b1", 0, 0, []string{}, []string{}}, // written without Fields
		{c, T - 2, 3, "c1", 0, 503, []string{"web"}, []string{}},
	}
	if err := v1.insert(ctx, "summaries", len(revs), func(app func(...any) error) error {
		for _, r := range revs {
			if err := app(string(r.id[:]), T-10, r.end, r.seq, r.sum, 0.0, 0.0, r.fault, uint8(0), uint8(0), uint8(0),
				r.status, "", "", r.services, r.annotated); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if interrupted {
		for _, srv := range srvs {
			o := Options{Addr: srv.Addr, DialTimeout: 5 * time.Second, User: "default"}
			conn, err := connect(o, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			suffix := ""
			if cluster != "" {
				suffix = "_local"
			}
			err = conn.Exec(ctx, "RENAME TABLE summaries"+suffix+" TO summaries_v1"+suffix)
			conn.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for open := range 2 { // the second Open finds version 2
		s, err := Open(ctx, Options{Addr: srvs[open%len(srvs)].Addr, Database: db, Cluster: cluster, Logger: quiet})
		if err != nil {
			t.Fatalf("open %d: %v", open, err)
		}
		var got []string
		for r, err := range s.Summaries(ctx, []xrayid.TraceID{a, b, c}) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Pos.Sec != T-10 {
				t.Errorf("open %d: %x at %d, want %d", open, r.TraceID, r.Pos.Sec, T-10)
			}
			got = append(got, string(r.Summary))
		}
		if want := []string{"a2", "b1", "c1"}; !slices.Equal(got, want) {
			t.Fatalf("open %d: Summaries = %q, want %q", open, got, want)
		}
		// fault: a's newest revision has it, b had no Fields (never
		// skipped), c is skipped (a position, no summary).
		where := []store.FieldCond{{Field: store.FieldFault, Op: store.Eq, Num: 1}}
		for _, order := range []store.Order{store.ByStart, store.ByEnd} {
			var rows []string
			for r, err := range s.ScanSummaries(ctx, store.SummaryScan{Order: order, From: T - 100, To: T + 100, Where: where}) {
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, fmt.Sprintf("%d:%d:%s", r.TraceID[15], r.Pos.Sec-T, r.Summary))
			}
			want := []string{"3:-10:", "2:-10:b1", "1:-10:a2"}
			if order == store.ByEnd {
				want = []string{"1:-1:a2", "3:-2:", "2:-3:b1"}
			}
			if !slices.Equal(rows, want) {
				t.Errorf("open %d: scan order %d after migration = %q, want %q", open, order, rows, want)
			}
		}
		var v uint32
		if err := s.conn.QueryRow(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		conns, _, suffix := s.partsConns()
		for _, c := range conns {
			if has, err := s.hasTable(ctx, c, "summaries_v1"+suffix); err != nil || has || v != schemaVersion {
				t.Fatalf("open %d: schema version %d, summaries_v1%s left: %v (%v)", open, v, suffix, has, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// summariesV2 is schema version 2's summaries table (without the edges
// columns).
const summariesV2 = `CREATE TABLE IF NOT EXISTS summaries (
		trace_id FixedString(16), place Int64, end_sec Int64, seq UInt64, summary String,
		duration Float64, response_time Float64, fault UInt8, error UInt8, throttle UInt8, partial UInt8,
		http_status UInt16, http_method String, http_url String,
		services Array(String), annotation_keys Array(String), fields UInt8
	) ENGINE = ReplacingMergeTree(seq) PARTITION BY toUInt32(greatest(intDiv(place, 86400), 0)) ORDER BY (place, trace_id) SETTINGS index_granularity = 256`

// TestMigrateV2 opens a version 2 database: its rows (with Fields, but
// no edges) are never skipped on an edge condition, and rows written
// after the migration are, when they lack the edge.
func TestMigrateV2(t *testing.T) {
	testMigrateV2(t, []*chtest.Server{startServer(t)}, "")
}

// TestMigrateV2Cluster migrates a version 2 database over two shards.
func TestMigrateV2Cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a two-shard cluster; run without -short")
	}
	testMigrateV2(t, chtest.StartCluster(t, "cs", 2), "cs")
}

func testMigrateV2(t *testing.T, srvs []*chtest.Server, cluster string) {
	ctx := context.Background()
	db := fmt.Sprintf("migrate_%d", dbs.Add(1))
	v2 := schemaTables(t, srvs, db, cluster, summariesV2)
	setSchemaVersion(t, v2, 2)
	T := time.Now().Unix()
	id := func(i byte) xrayid.TraceID { return traceAt(T-10, i) }
	// Trace 1: written by version 2, with Fields (fields = 1), no edges.
	old := id(1)
	if err := v2.insert(ctx, "summaries", 1, func(app func(...any) error) error {
		return app(string(old[:]), T-10, T-9, uint64(1), "old", 0.0, 0.0, uint8(0), uint8(1), uint8(0), uint8(0),
			uint16(200), "", "", []string{"web", "db"}, []string{}, uint8(1))
	}); err != nil {
		t.Fatal(err)
	}
	where := []store.FieldCond{{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey("web", "db"), Num: float64(store.EdgeError)}}
	for open := range 2 { // the second Open finds version 3
		s, err := Open(ctx, Options{Addr: srvs[open%len(srvs)].Addr, Database: db, Cluster: cluster, Logger: quiet})
		if err != nil {
			t.Fatalf("open %d: %v", open, err)
		}
		if open == 0 {
			// summary_ends did not change in version 3 (this test did
			// not make it: Open did).
			if err := s.insert(ctx, "summary_ends", 1, func(app func(...any) error) error {
				return app(T-9, T-10, string(old[:]))
			}); err != nil {
				t.Fatal(err)
			}
			// Trace 2 lacks the edge, trace 3 has it with an error, trace
			// 4 has it without.
			b := &store.Batch{}
			for i, edges := range [][]store.EdgeField{
				{{Key: store.EdgeKey("web", "auth"), Flags: store.EdgeError}},
				{{Key: store.EdgeKey("web", "db"), Flags: store.EdgeError | store.EdgeFault}},
				{{Key: store.EdgeKey("web", "db")}},
			} {
				b.Summaries = append(b.Summaries, store.SummaryRecord{TraceID: id(byte(i + 2)), End: T - 8, Summary: []byte(fmt.Sprint("new", i+2)),
					Fields: store.SummaryFields{Services: []string{"web"}, Edges: edges, HasEdges: true}})
			}
			if err := s.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		for _, order := range []store.Order{store.ByStart, store.ByEnd} {
			var rows []string
			for r, err := range s.ScanSummaries(ctx, store.SummaryScan{Order: order, From: T - 100, To: T + 100, Where: where}) {
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, fmt.Sprintf("%d:%s", r.TraceID[15], r.Summary))
			}
			// The same in both orders: the new traces end at T-8, the
			// old one at T-9.
			want := []string{"4:", "3:new3", "2:", "1:old"}
			if !slices.Equal(rows, want) {
				t.Errorf("open %d: scan order %d after migration = %q, want %q", open, order, rows, want)
			}
		}
		var v uint32
		if err := s.conn.QueryRow(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil || v != schemaVersion {
			t.Fatalf("open %d: schema version %d (%v)", open, v, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// traceAt is a trace ID of epoch sec whose last byte is i.
func traceAt(sec int64, i byte) xrayid.TraceID {
	var tid xrayid.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(sec))
	tid[15] = i
	return tid
}

// setSchemaVersion records version v in st's database, as that
// version's Counterspy did.
func setSchemaVersion(t *testing.T, st *Store, v uint32) {
	t.Helper()
	if err := st.insert(context.Background(), "schema_version", 1, func(app func(...any) error) error { return app(v, uint64(1)) }); err != nil {
		t.Fatal(err)
	}
}
