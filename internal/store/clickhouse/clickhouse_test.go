package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
	"github.com/counterspy/counterspy/internal/store/storetest"
	"github.com/counterspy/counterspy/internal/xrayid"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// server is the ClickHouse server shared by the package's tests (each
// store gets its own database).
var (
	server    *chtest.Server
	serverDir string
	dbs       atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop()
		_ = os.RemoveAll(serverDir)
	}
	os.Exit(code)
}

func startServer(t testing.TB) *chtest.Server {
	t.Helper()
	if server == nil {
		bin := chtest.Binary(t)
		dir, err := os.MkdirTemp("", "counterspy-clickhouse-")
		if err != nil {
			t.Fatal(err)
		}
		serverDir = dir
		s, err := chtest.Start(bin, dir)
		if err != nil {
			t.Fatal(err)
		}
		server = s
	}
	return server
}

func openTest(t testing.TB, srv *chtest.Server, db string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Addr: srv.Addr, Database: db, Logger: quiet})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := startServer(t)
	storetest.Run(t,
		func(t *testing.T) store.Store {
			return openTest(t, srv, fmt.Sprintf("conformance_%d", dbs.Add(1)))
		},
		func(t *testing.T, s store.Store) store.Store {
			cs := s.(*Store)
			if err := cs.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openTest(t, srv, cs.opts.Database)
		},
		// The graph table's insert fails while the others' succeed: the
		// retry of the batch ID must insert only it.
		storetest.WithFaults(func(t *testing.T) (store.Store, func(), func()) {
			s := openTest(t, srv, fmt.Sprintf("conformance_%d", dbs.Add(1)))
			set := func(table string) {
				s.retries.mu.Lock()
				s.retries.fail = table
				s.retries.mu.Unlock()
			}
			return s, func() { set("graph") }, func() { set("") }
		}))
}

func TestParseURL(t *testing.T) {
	o, err := ParseURL("clickhouse://u:p@127.0.0.1:9000/traces")
	if err != nil || o.Addr != "127.0.0.1:9000" || o.Database != "traces" || o.User != "u" || o.Password != "p" {
		t.Fatalf("ParseURL: %+v, %v", o, err)
	}
	o, err = ParseURL("clickhouse://127.0.0.1:9000/traces?cluster=shards2")
	if err != nil || o.Cluster != "shards2" || o.Database != "traces" {
		t.Fatalf("ParseURL with a cluster: %+v, %v", o, err)
	}
	for _, bad := range []string{"http://h:1/db", "clickhouse:///db", "clickhouse://h:1/bad-name", "clickhouse://h:1/x;DROP", "clickhouse://h:1/db?cluster=a,b"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

// TestDown checks that a server that is not there gives a clear error.
func TestDown(t *testing.T) {
	_, err := Open(context.Background(), Options{Addr: "127.0.0.1:1", Database: "x", Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open of a closed port: %v, want an error naming the address", err)
	}
}

// TestServerGone stops the server under an open store: every operation
// fails with an error that names the server, and nothing hangs.
func TestServerGone(t *testing.T) {
	srv := chtest.StartTest(t)
	ctx := context.Background()
	s, err := Open(ctx, Options{Addr: srv.Addr, Database: "gone", DialTimeout: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Stats(ctx); err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if err := s.Health(); err != nil {
		t.Fatalf("Health with the server up: %v", err)
	}
	srv.Kill()
	b := &store.Batch{Records: []store.Record{{Received: 1, Doc: []byte("x")}}}
	first := func(seq iter.Seq2[store.SummaryRow, error]) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	for op, err := range map[string]error{
		"Write":         s.Write(ctx, b),
		"Stats":         func() error { _, err := s.Stats(ctx); return err }(),
		"PutMeta":       s.PutMeta(ctx, "k", []byte("v")),
		"ScanSummaries": first(s.ScanSummaries(ctx, store.SummaryScan{From: 0, To: 100})),
		"Summaries":     first(s.Summaries(ctx, []xrayid.TraceID{{1}})),
	} {
		// Unavailable: a temporary condition (the API answers 503).
		if err == nil || !strings.Contains(err.Error(), srv.Addr) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the server gone: %v, want an error naming %s that wraps store.ErrUnavailable", op, err, srv.Addr)
		}
	}
	// /healthz says why; the next Write backs off instead of dialing a
	// dead server again, and still says why.
	if err := s.Health(); err == nil || !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("Health after a failed write: %v, want an error naming %s", err, srv.Addr)
	}
	err = s.Write(ctx, b)
	if err == nil || !strings.Contains(err.Error(), "not writing") || !strings.Contains(err.Error(), srv.Addr) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Write right after a failed one: %v, want the back-off naming %s, wrapping store.ErrUnavailable", err, srv.Addr)
	}
}

// TestServerException: an exception the server sends about a query is not
// ErrUnavailable (the API answers 500 with its message).
func TestServerException(t *testing.T) {
	srv := startServer(t)
	s := openTest(t, srv, fmt.Sprintf("exception_%d", dbs.Add(1)))
	err := s.query(context.Background(), "bad query", "SELECT no_such_column FROM summaries", func(func(...any) error) error { return nil })
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a failing query: %v, want an error that does not wrap store.ErrUnavailable", err)
	}
}

// FuzzParseURL: any --store value gives options with a safe database name
// (it is spliced into DDL) or an error, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"clickhouse://127.0.0.1:9000/traces", "clickhouse://u:p@h:1/", "clickhouse://h:1/a;b", "http://x/y", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err != nil {
			return
		}
		if !validName(o.Database) || o.Addr == "" || o.Cluster != "" && !validName(o.Cluster) {
			t.Fatalf("ParseURL(%q) accepted %+v", s, o)
		}
	})
}
