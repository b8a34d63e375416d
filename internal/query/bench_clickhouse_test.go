package query_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
)

// benchCHDatabase is the database BenchmarkFirstPage loads on ClickHouse;
// benchMeta (a metadata key there) names the load it holds.
const benchCHDatabase = "querybench"

// benchClickHouse starts a ClickHouse server with its data in dir and
// opens the benchmark's store on it, loading n traces unless the database
// already holds exactly that load. A directory loaded by an older schema
// version is migrated by Open, which the benchmark then measures. Run:
//
//	go test -run '^$' -bench BenchmarkFirstPage -benchtime 20x -timeout 3h ./internal/query \
//	    -args -query.traces 1000000 -query.clickhouse /var/tmp/counterspy-query-ch-1m
func benchClickHouse(b *testing.B, n int, dir string) store.SummaryReader {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	srv, err := chtest.Start(chtest.Binary(b), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	ctx := context.Background()
	began := time.Now()
	st, err := clickhouse.Open(ctx, clickhouse.Options{
		Addr: srv.Addr, Database: benchCHDatabase,
		EpochPast: 50 * 365 * 24 * time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("opened the ClickHouse store in %s", time.Since(began).Round(time.Millisecond))
	b.Cleanup(func() {
		if err := st.Close(); err != nil {
			b.Error(err)
		}
	})
	sc, err := loadgen.New("large", benchSeed)
	if err != nil {
		b.Fatal(err)
	}
	want := benchLoadID(sc, n)
	have, found, err := st.GetMeta(ctx, benchMeta)
	switch {
	case err != nil:
		b.Fatal(err)
	case found && string(have) != want:
		b.Fatalf("%s holds another load (%q, want %q): remove the directory or choose another", dir, have, want)
	case found:
		return st
	}
	began = time.Now()
	if err := load(st, n); err != nil {
		b.Fatal(err)
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d traces in %s: %.0f MB on disk", n, time.Since(began).Round(time.Second), float64(stats.DiskBytes)/1e6)
	if err := st.PutMeta(ctx, benchMeta, []byte(want)); err != nil {
		b.Fatal(err)
	}
	return st
}
