package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// recordsV3 is schema version 3's records table (the whole document in
// doc).
const recordsV3 = `CREATE TABLE IF NOT EXISTS records (
		trace_id FixedString(16), place Int64, received Int64, seq UInt64, seg_id UInt64, doc String
	) ENGINE = MergeTree PARTITION BY toUInt32(greatest(intDiv(place, 86400), 0)) ORDER BY (trace_id, received, seq) SETTINGS index_granularity = 128`

// TestMigrateV3 opens a version 3 database: the documents it stored read
// unchanged after the migration, next to documents written split.
func TestMigrateV3(t *testing.T) {
	testMigrateV3(t, []*chtest.Server{startServer(t)}, "")
}

// TestMigrateV3Cluster migrates a version 3 database over two shards.
func TestMigrateV3Cluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a two-shard cluster; run without -short")
	}
	testMigrateV3(t, chtest.StartCluster(t, "cs", 2), "cs")
}

func testMigrateV3(t *testing.T, srvs []*chtest.Server, cluster string) {
	ctx := context.Background()
	db := fmt.Sprintf("migrate_%d", dbs.Add(1))
	v3 := schemaTables(t, srvs, db, cluster, summariesDDL)
	for _, srv := range srvs {
		o := Options{Addr: srv.Addr, DialTimeout: 5 * time.Second, User: "default"}
		conn, err := connect(o, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		ddl := []string{recordsV3}
		if cluster != "" {
			ddl = []string{strings.Replace(recordsV3, "EXISTS records", "EXISTS records_local", 1),
				fmt.Sprintf("CREATE TABLE records AS records_local ENGINE = Distributed(%s, %s, records_local, cityHash64(trace_id))", cluster, db)}
		}
		for _, q := range ddl {
			if err := conn.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		conn.Close()
	}
	setSchemaVersion(t, v3, 3)
	T := time.Now().Unix()
	id := func(i byte) xrayid.TraceID { return traceAt(T-10, i) }
	doc := func(tid xrayid.TraceID, seg xrayid.SegmentID, name string) []byte {
		return fmt.Appendf(nil, `{"trace_id":"%s","id":"%s","name":"%s","start_time":%d.25,"end_time":%d.5,"parent_id":"0102030405060708"}`, tid, seg, name, T-10, T-9)
	}
	// Trace 1: two documents written by version 3 (one not JSON), and
	// one written after the migration.
	a := id(1)
	old := []store.Record{
		{TraceID: a, ID: 0x1111, Received: (T - 9) * 1e9, Doc: doc(a, 0x1111, "old")},
		{TraceID: a, ID: 0x2222, Received: (T - 8) * 1e9, Doc: []byte("not json \x01")},
	}
	if err := v3.insert(ctx, "records", len(old), func(app func(...any) error) error {
		for i, r := range old {
			if err := app(string(r.TraceID[:]), T-10, r.Received, uint64(i+1), uint64(r.ID), string(r.Doc)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := append([]store.Record{}, old...)
	for open := range 2 { // the second Open finds version 4
		s, err := Open(ctx, Options{Addr: srvs[open%len(srvs)].Addr, Database: db, Cluster: cluster, Logger: quiet})
		if err != nil {
			t.Fatalf("open %d: %v", open, err)
		}
		if open == 0 {
			r := store.Record{TraceID: a, ID: 0x3333, Received: (T - 7) * 1e9, Doc: doc(a, 0x3333, "new")}
			if err := s.Write(ctx, &store.Batch{Records: []store.Record{r}}); err != nil {
				t.Fatal(err)
			}
			want = append(want, r)
			// Stored split: the doc column is empty, the skeleton holds
			// neither ID.
			var d, skel string
			if err := s.conn.QueryRow(ctx, "SELECT doc, doc_skel FROM records WHERE seg_id = 0x3333").Scan(&d, &skel); err != nil {
				t.Fatal(err)
			}
			if d != "" || skel == "" || strings.Contains(skel, "0000000000003333") || strings.Contains(skel, a.String()) {
				t.Errorf("open %d: new document stored as doc %q, skeleton %q", open, d, skel)
			}
		}
		var got []store.Record
		for tr, err := range s.Traces(ctx, []xrayid.TraceID{a}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, tr.Records...)
		}
		if len(got) != len(want) {
			t.Fatalf("open %d: %d records, want %d", open, len(got), len(want))
		}
		for i := range want {
			if g, w := got[i], want[i]; g.TraceID != w.TraceID || g.ID != w.ID || g.Received != w.Received || !bytes.Equal(g.Doc, w.Doc) {
				t.Errorf("open %d: record %d = %x %s %d %q, want %x %s %d %q", open, i, g.TraceID, g.ID, g.Received, g.Doc, w.TraceID, w.ID, w.Received, w.Doc)
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
