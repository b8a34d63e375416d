package clickhouse

import (
	"context"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Cluster mode (Options.Cluster): the data is spread over the shards of a
// cluster defined in the servers' remote_servers configuration. Every table
// of the single-server schema becomes a local table NAME_local on every
// shard, and NAME becomes a Distributed table over them (on every shard,
// so a node may connect to any). Reads and writes keep their SQL: they go
// to the Distributed tables, with one setting on every connection:
//
//   - insert_distributed_sync=1: an insert returns once every shard has
//     its rows, so a Write is visible to every read that starts after it
//     (by default a Distributed insert is queued on the local disk and
//     sent later).
//
// The IN subquery of a scan (the traces under an index term) names the
// local table terms_local, so each shard answers it from its own terms
// (what distributed_product_mode=local would do; the driver cannot send
// that string setting). That is exact because every per-trace table is
// sharded by the same key, cityHash64(trace_id): a trace's records,
// summaries, terms and placement live on one shard.
//
// Graph counters and log lines are sharded at random (reads sum or merge
// them across shards); metadata and the schema version live on the first
// shard (sharding key 0), so that a key's versions are never split.
// DDL and partition drops run on each shard's own connection (18.16's
// ON CLUSTER needs ZooKeeper).

// shardKeys is the sharding key of each table's Distributed table.
var shardKeys = map[string]string{
	"schema_version": "0",
	"records":        "cityHash64(trace_id)",
	"placements":     "cityHash64(trace_id)",
	"summaries":      "cityHash64(trace_id)",
	"summary_ends":   "cityHash64(trace_id)",
	"terms":          "cityHash64(trace_id)",
	"graph":          "rand()",
	"logs":           "rand()",
	"meta":           "0",
}

// clusterSettings are the connection settings of a cluster-mode Store.
var clusterSettings = ch.Settings{"insert_distributed_sync": 1}

// local is the table a query's IN subquery reads (see above): the
// shard's own table in cluster mode.
func (s *Store) local(table string) string {
	if s.opts.Cluster != "" {
		return s.opts.Database + "." + table + "_local"
	}
	return table
}

// tableName is the name in a CREATE TABLE IF NOT EXISTS statement.
func tableName(ddl string) string {
	rest := strings.TrimPrefix(strings.TrimSpace(ddl), "CREATE TABLE IF NOT EXISTS ")
	if i := strings.IndexAny(rest, " ("); i >= 0 {
		return rest[:i]
	}
	return rest
}

// openShards connects to every shard of the cluster (as system.clusters
// on the first server names them) and creates the database, the local
// tables and the Distributed tables on each.
func (s *Store) openShards(ctx context.Context) error {
	type shard struct {
		num  uint32
		host string
		port uint16
	}
	var shards []shard
	err := s.query(ctx, "list the shards of cluster "+s.opts.Cluster,
		"SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = "+quote(s.opts.Cluster)+" AND replica_num = 1 ORDER BY shard_num",
		func(scan func(...any) error) error {
			var sh shard
			if err := scan(&sh.num, &sh.host, &sh.port); err != nil {
				return err
			}
			shards = append(shards, sh)
			return nil
		})
	if err != nil {
		return err
	}
	if len(shards) == 0 {
		return fmt.Errorf("clickhouse %s: no cluster %q in system.clusters (remote_servers in the server's config)", s.opts.Addr, s.opts.Cluster)
	}
	for _, sh := range shards {
		o := s.opts
		o.Addr = fmt.Sprintf("%s:%d", sh.host, sh.port)
		if strings.Contains(sh.host, ":") {
			o.Addr = fmt.Sprintf("[%s]:%d", sh.host, sh.port)
		}
		boot, err := connect(o, "default", nil)
		if err != nil {
			return fmt.Errorf("shard %d of cluster %s: %w", sh.num, s.opts.Cluster, err)
		}
		err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.opts.Database)
		boot.Close()
		if err != nil {
			return fmt.Errorf("clickhouse %s: create database %s: %w", o.Addr, s.opts.Database, err)
		}
		conn, err := connect(o, s.opts.Database, nil)
		if err != nil {
			return fmt.Errorf("shard %d of cluster %s: %w", sh.num, s.opts.Cluster, err)
		}
		s.shards = append(s.shards, conn)
		s.shardAddrs = append(s.shardAddrs, o.Addr)
		for _, ddl := range tables {
			name := tableName(ddl)
			local := strings.Replace(ddl, "EXISTS "+name, "EXISTS "+name+"_local", 1)
			if err := conn.Exec(ctx, local); err != nil {
				return fmt.Errorf("clickhouse %s: create %s_local: %w", o.Addr, name, err)
			}
			dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s AS %s_local ENGINE = Distributed(%s, %s, %s_local, %s)",
				name, name, s.opts.Cluster, s.opts.Database, name, shardKeys[name])
			if err := conn.Exec(ctx, dist); err != nil {
				return fmt.Errorf("clickhouse %s: create Distributed table %s: %w", o.Addr, name, err)
			}
		}
	}
	return nil
}

// partsConns are the connections whose system.parts hold the data, with
// the suffix of their data tables: each shard's local tables in cluster
// mode, else the one server's tables.
func (s *Store) partsConns() (conns []driver.Conn, addrs []string, suffix string) {
	if s.opts.Cluster != "" {
		return s.shards, s.shardAddrs, "_local"
	}
	return []driver.Conn{s.conn}, []string{s.opts.Addr}, ""
}
