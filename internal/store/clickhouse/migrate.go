package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migrate creates the tables a database lacks and brings an older schema
// version's data to this one, then records the version.
func (s *Store) migrate(ctx context.Context) error {
	if s.opts.Cluster == "" { // in cluster mode openShards created the tables
		if err := s.conn.Exec(ctx, tables[0]); err != nil {
			return fmt.Errorf("clickhouse: create schema_version: %w", err)
		}
	}
	var v uint32
	row := s.conn.QueryRow(ctx, "SELECT max(version) FROM schema_version")
	if err := row.Scan(&v); err != nil {
		return fmt.Errorf("clickhouse: read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("clickhouse: database %s has schema version %d, this Counterspy knows up to %d", s.opts.Database, v, schemaVersion)
	}
	for _, q := range tables[1:] {
		if s.opts.Cluster != "" {
			break
		}
		if err := s.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("clickhouse: create schema: %w (in %.60s...)", err, q)
		}
	}
	if v == 1 {
		began := time.Now()
		if err := s.migrateV2(ctx); err != nil {
			return fmt.Errorf("clickhouse: migrate database %s from schema version 1 to 2: %w", s.opts.Database, err)
		}
		s.log.Info("clickhouse: migrated the schema from version 1 to 2", "database", s.opts.Database, "took", time.Since(began).Round(time.Millisecond))
	}
	if v >= 1 && v < 3 {
		began := time.Now()
		if err := s.migrateV3(ctx); err != nil {
			return fmt.Errorf("clickhouse: migrate database %s from schema version %d to 3: %w", s.opts.Database, max(v, 2), err)
		}
		s.log.Info("clickhouse: migrated the schema to version 3", "database", s.opts.Database, "took", time.Since(began).Round(time.Millisecond))
	}
	if v >= 1 && v < 4 {
		began := time.Now()
		if err := s.migrateV4(ctx); err != nil {
			return fmt.Errorf("clickhouse: migrate database %s from schema version %d to 4: %w", s.opts.Database, max(v, 3), err)
		}
		s.log.Info("clickhouse: migrated the schema to version 4", "database", s.opts.Database, "took", time.Since(began).Round(time.Millisecond))
	}
	if v < schemaVersion {
		// A batch, not INSERT .. VALUES: over the native protocol 18.16
		// waits for data blocks after any INSERT.
		if err := s.insert(ctx, "schema_version", 1, func(app func(...any) error) error {
			return app(uint32(schemaVersion), uint64(time.Now().Unix()))
		}); err != nil {
			return fmt.Errorf("clickhouse: record schema version: %w", err)
		}
	}
	return nil
}

// summaryColumns are the columns version 1's summaries table shares with
// version 2's.
const summaryColumns = "trace_id, place, end_sec, seq, summary, duration, response_time, fault, error, throttle, partial," +
	" http_status, http_method, http_url, services, annotation_keys"

// migrateV2 reorders the summaries of a version 1 database by (place,
// trace_id) and fills summary_ends (created empty by migrate) and the new
// fields column, on every shard: the old table is renamed away, a new one
// created, the rows copied server-side, the old table dropped. Each step
// can run again after a crash (a copy repeated in part only adds revisions
// the merges and argMax collapse), so Open finishes an interrupted
// migration. Writers still running an older Counterspy would write to the
// renamed table: stop them first (docs/clickhouse.md).
func (s *Store) migrateV2(ctx context.Context) error {
	conns, addrs, suffix := s.partsConns()
	for i, conn := range conns {
		sums, old, ends := "summaries"+suffix, "summaries_v1"+suffix, "summary_ends"+suffix
		has, err := s.hasTable(ctx, conn, old)
		if err != nil {
			return err
		}
		steps := []string{}
		if !has {
			steps = append(steps, fmt.Sprintf("RENAME TABLE %s TO %s", sums, old),
				strings.Replace(summariesDDL, "EXISTS summaries", "EXISTS "+sums, 1))
		}
		steps = append(steps,
			fmt.Sprintf("INSERT INTO %s (%s, fields) SELECT %s, %s FROM %s", sums, summaryColumns, summaryColumns, fieldsKnownSQL, old),
			fmt.Sprintf("INSERT INTO %s (end_sec, place, trace_id) SELECT end_sec, place, trace_id FROM %s", ends, old),
			"DROP TABLE "+old)
		// The Distributed table copied the old columns: make it again
		// over the new local table.
		steps = append(steps, s.remakeDistributedSummaries()...)
		if err := execSteps(ctx, conn, addrs[i], steps); err != nil {
			return err
		}
	}
	return nil
}

// remakeDistributedSummaries are the statements that make the cluster's
// Distributed summaries table again over summaries_local after its
// columns changed (none outside cluster mode).
func (s *Store) remakeDistributedSummaries() []string {
	if s.opts.Cluster == "" {
		return nil
	}
	return []string{"DROP TABLE IF EXISTS summaries", fmt.Sprintf(
		"CREATE TABLE summaries AS summaries_local ENGINE = Distributed(%s, %s, summaries_local, %s)",
		s.opts.Cluster, s.opts.Database, shardKeys["summaries"])}
}

// execSteps runs a migration's statements on one server in order.
func execSteps(ctx context.Context, conn driver.Conn, addr string, steps []string) error {
	for _, q := range steps {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("on %s: %s: %w", addr, q, err)
		}
	}
	return nil
}

// hasTable reports whether the database has table on conn's server.
func (s *Store) hasTable(ctx context.Context, conn driver.Conn, table string) (bool, error) {
	var n uint64
	q := "SELECT count() FROM system.tables WHERE database = " + quote(s.opts.Database) + " AND name = " + quote(table)
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return false, s.wrap(ctx, "list tables", err)
	}
	return n > 0, nil
}

// migrateV3 adds the edges and edge_flags columns to the summaries table
// of every shard (empty in the rows written before: their fields value,
// at most 1, says they have no edges, so no scan skips them on one) and,
// in cluster mode, makes the Distributed table again over them. A column
// already there (a crash between two steps, or a table migrateV2 just
// made) is not added again.
func (s *Store) migrateV3(ctx context.Context) error {
	conns, addrs, suffix := s.partsConns()
	for i, conn := range conns {
		sums := "summaries" + suffix
		var n uint64
		q := "SELECT count() FROM system.columns WHERE database = " + quote(s.opts.Database) + " AND table = " + quote(sums) + " AND name = 'edges'"
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("on %s: %s: %w", addrs[i], q, err)
		}
		var steps []string
		if n == 0 {
			steps = append(steps, fmt.Sprintf("ALTER TABLE %s ADD COLUMN edges Array(String), ADD COLUMN edge_flags Array(UInt8)", sums))
		}
		steps = append(steps, s.remakeDistributedSummaries()...)
		if err := execSteps(ctx, conn, addrs[i], steps); err != nil {
			return err
		}
	}
	return nil
}
