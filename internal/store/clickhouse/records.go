package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/doccodec"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Since schema version 4 a document is stored split by doccodec: its
// skeleton and values in the doc_* columns, each compressed among values
// of its kind (docs/scaling.md, "Rows and bytes per segment"), and doc
// empty. Rows written before keep the whole document in doc and empty
// doc_* columns; a split document always has a skeleton unless it is
// empty, so an empty doc_skel means "read doc".

// docColumns are the columns of a split document, after doc in the
// table, in the order recordRow writes and recordScanner reads them.
const docColumns = "doc_skel String, doc_ids String, doc_nums String, " +
	"doc_strs String, doc_hot String, doc_urls String, doc_varied String"

// docColumnNames are docColumns without their types.
const docColumnNames = "doc_skel, doc_ids, doc_nums, doc_strs, doc_hot, doc_urls, doc_varied"

// doccodec makes four string parts, one column each: a fifth would need
// a column (this fails to compile if the count changes).
var _ = [1]struct{}{}[doccodec.NumStr-4]

// recordRow appends the values of r's row in records (every column, in
// table order) with its document split into p. The driver copies []byte
// values into its block (ch-go's ColStr.AppendBytes), so p is reused for
// the next row.
func recordRow(app func(...any) error, p *doccodec.Parts, r *store.Record, place int64, seq uint64) error {
	doccodec.Split(p, r.Doc, doccodec.Row{TraceID: r.TraceID, SegmentID: r.ID})
	return app(string(r.TraceID[:]), place, r.Received, seq, uint64(r.ID), "",
		p.Skeleton, p.IDs, p.Nums, p.Strs[doccodec.StrCommon], p.Strs[doccodec.StrHot], p.Strs[doccodec.StrURL], p.Strs[doccodec.StrVaried])
}

// recordSelect are the columns a read of records scans with recordScan.
const recordSelect = "trace_id, seg_id, received, doc, " + docColumnNames

// recordScanner reads rows of recordSelect, reusing its buffers.
type recordScanner struct {
	id, doc string
	seg     uint64
	rec     int64
	p       doccodec.Parts
	dest    []any
}

// bytesDest scans a String column into a []byte without a second copy:
// the driver makes a new string of each value and hands its bytes to
// UnmarshalBinary (clickhouse-go's String.ScanRow). Only Join reads them,
// never writes.
type bytesDest struct{ b *[]byte }

func (d bytesDest) UnmarshalBinary(data []byte) error {
	*d.b = data
	return nil
}

// scan reads the next row into a Record.
func (rs *recordScanner) scan(scan func(...any) error) (store.Record, error) {
	p := &rs.p
	if rs.dest == nil {
		rs.dest = []any{&rs.id, &rs.seg, &rs.rec, &rs.doc, bytesDest{&p.Skeleton}, bytesDest{&p.IDs}, bytesDest{&p.Nums},
			bytesDest{&p.Strs[doccodec.StrCommon]}, bytesDest{&p.Strs[doccodec.StrHot]}, bytesDest{&p.Strs[doccodec.StrURL]}, bytesDest{&p.Strs[doccodec.StrVaried]}}
	}
	if err := scan(rs.dest...); err != nil {
		return store.Record{}, err
	}
	tid, err := toID(rs.id)
	if err != nil {
		return store.Record{}, err
	}
	r := store.Record{TraceID: tid, ID: xrayid.SegmentID(rs.seg), Received: rs.rec}
	if len(p.Skeleton) == 0 {
		r.Doc = []byte(rs.doc)
		return r, nil
	}
	size := len(p.Skeleton) + 2*len(p.IDs) + 8*len(p.Nums) // about the document's
	for _, s := range p.Strs {
		size += len(s)
	}
	r.Doc, err = doccodec.Join(make([]byte, 0, size), p, doccodec.Row{TraceID: tid, SegmentID: r.ID})
	if err != nil {
		return store.Record{}, fmt.Errorf("document %s of trace %s: %w", r.ID, tid, err)
	}
	return r, nil
}

// migrateV4 adds the doc_* columns to the records table of every shard
// (empty in the rows written before, which read from doc) and, in cluster
// mode, makes the Distributed table again over them. Columns already
// there (a crash between two steps) are not added again.
func (s *Store) migrateV4(ctx context.Context) error {
	conns, addrs, suffix := s.partsConns()
	for i, conn := range conns {
		recs := "records" + suffix
		var n uint64
		q := "SELECT count() FROM system.columns WHERE database = " + quote(s.opts.Database) + " AND table = " + quote(recs) + " AND name = 'doc_skel'"
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("on %s: %s: %w", addrs[i], q, err)
		}
		var steps []string
		if n == 0 {
			steps = append(steps, "ALTER TABLE "+recs+" ADD COLUMN "+strings.ReplaceAll(docColumns, ", ", ", ADD COLUMN "))
		}
		if s.opts.Cluster != "" {
			steps = append(steps, "DROP TABLE IF EXISTS records", fmt.Sprintf(
				"CREATE TABLE records AS records_local ENGINE = Distributed(%s, %s, records_local, %s)",
				s.opts.Cluster, s.opts.Database, shardKeys["records"]))
		}
		if err := execSteps(ctx, conn, addrs[i], steps); err != nil {
			return err
		}
	}
	return nil
}
