package clickhouse

import (
	"context"
	"fmt"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
	"github.com/counterspy/counterspy/internal/store/storetest"
)

// TestConformanceCluster runs the whole conformance suite against two
// ClickHouse servers as two shards of a cluster, behind Distributed tables
// (cluster.go): what one server passes, two shards pass too.
// One to two minutes on a loaded 2-core machine (every case creates its
// tables on both shards), so -short leaves it out.
func TestConformanceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("the cluster conformance suite takes a minute or two; run without -short")
	}
	srvs := chtest.StartCluster(t, "cs", 2)
	open := func(t *testing.T, db string) *Store {
		// Each case connects through a different shard: either may be a
		// node's entry point.
		s, err := Open(context.Background(), Options{Addr: srvs[dbs.Load()%2].Addr, Database: db, Cluster: "cs", Logger: quiet})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	storetest.Run(t,
		func(t *testing.T) store.Store { return open(t, fmt.Sprintf("cluster_%d", dbs.Add(1))) },
		func(t *testing.T, s store.Store) store.Store {
			cs := s.(*Store)
			if err := cs.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, cs.opts.Database)
		})
}
