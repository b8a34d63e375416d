// Package clickhouse is a store.Store backend on a ClickHouse server, over
// its native protocol (clickhouse-go v2.26, the last release whose batch
// inserts 18.16 accepts). See docs/clickhouse.md for the schema.
//
// ClickHouse merges parts asynchronously, so every read deduplicates:
// summaries and metadata keep the value with the highest sequence number
// (argMax), graph counters are summed at read time, index terms are
// DISTINCT. Writes to the several tables of one Batch are separate inserts:
// a failed Write may have stored part of the batch, so the backend is not
// store.Atomic, and a retry of the same Batch.ID inserts only the tables
// not stored yet (retry.go), so nothing counts twice. That memory is the
// process's: a crash between two tables' inserts loses the later ones (for
// the graph table, that batch's counts). See docs/clickhouse.md.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Options configure a Store.
type Options struct {
	// Addr is the server's native-protocol address (host:port).
	Addr string
	// Database is created if missing.
	Database string
	// User and Password authenticate (default user "default", no password).
	User, Password string
	// EpochPast and EpochFuture bound the plausible start of a trace
	// relative to its first arrival, as in the Pebble backend. Defaults 30
	// days and 1 hour.
	EpochPast, EpochFuture time.Duration
	// Cluster, if set, names a cluster of the servers' remote_servers
	// configuration: the tables are spread over its shards behind
	// Distributed tables (cluster.go, docs/scaling.md).
	Cluster string
	// DialTimeout bounds connecting (default 5 s).
	DialTimeout time.Duration
	Logger      *slog.Logger
}

// ParseURL reads clickhouse://[user[:password]@]HOST:PORT/DATABASE[?cluster=NAME].
func ParseURL(s string) (Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Options{}, fmt.Errorf("clickhouse store URL %q: %w", s, err)
	}
	if u.Scheme != "clickhouse" || u.Host == "" {
		return Options{}, fmt.Errorf("clickhouse store URL %q: want clickhouse://HOST:PORT/DATABASE", s)
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "counterspy"
	}
	if !validName(db) {
		return Options{}, fmt.Errorf("clickhouse store URL %q: database name must be letters, digits and _", s)
	}
	o := Options{Addr: u.Host, Database: db, Cluster: u.Query().Get("cluster")}
	if o.Cluster != "" && !validName(o.Cluster) {
		return Options{}, fmt.Errorf("clickhouse store URL %q: cluster name must be letters, digits and _", s)
	}
	if u.User != nil {
		o.User = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	return o, nil
}

func validName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return s != ""
}

// Store is the ClickHouse backend.
type Store struct {
	conn   driver.Conn
	opts   Options
	log    *slog.Logger
	closed atomic.Bool

	mu      sync.Mutex
	lastSeq uint64
	// placed caches the placement of traces with implausible epochs.
	placed map[xrayid.TraceID]int64

	retries retries

	health health // write back-off and Health (health.go)

	// shards are connections to every shard in cluster mode (cluster.go).
	shards     []driver.Conn
	shardAddrs []string
}

var _ store.Store = (*Store)(nil)

// Open connects, creates the database and tables if missing, and checks the
// schema version.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.EpochPast == 0 {
		opts.EpochPast = store.DefaultEpochPast
	}
	if opts.EpochFuture == 0 {
		opts.EpochFuture = store.DefaultEpochFuture
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.User == "" {
		opts.User = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if !validName(opts.Database) {
		return nil, fmt.Errorf("clickhouse: invalid database name %q", opts.Database)
	}
	if opts.Cluster != "" && !validName(opts.Cluster) {
		return nil, fmt.Errorf("clickhouse: invalid cluster name %q", opts.Cluster)
	}
	var settings ch.Settings
	if opts.Cluster != "" {
		settings = clusterSettings
	}
	// Connect to the default database first: ours may not exist yet.
	boot, err := connect(opts, "default", nil)
	if err != nil {
		return nil, err
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+opts.Database)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: create database %s: %w", opts.Addr, opts.Database, err)
	}
	conn, err := connect(opts, opts.Database, settings)
	if err != nil {
		return nil, err
	}
	s := &Store{conn: conn, opts: opts, log: opts.Logger, placed: map[xrayid.TraceID]int64{}}
	if opts.Cluster != "" {
		if err := s.openShards(ctx); err != nil {
			s.closeConns()
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.closeConns()
		return nil, err
	}
	return s, nil
}

func connect(opts Options, db string, settings ch.Settings) (driver.Conn, error) {
	conn, err := ch.Open(&ch.Options{
		Addr:        []string{opts.Addr},
		Settings:    settings,
		Auth:        ch.Auth{Database: db, Username: opts.User, Password: opts.Password},
		DialTimeout: opts.DialTimeout,
		// A server that stops answering fails the operation within a
		// minute (the driver's default is 5), so that ingest reports it
		// and /healthz says why. The server sends progress packets during
		// long queries, so this bounds silence, not query time.
		ReadTimeout: time.Minute,
		// ClickHouse likes few, large inserts; the pool only bounds
		// concurrent queries.
		MaxOpenConns: 16,
		MaxIdleConns: 4,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", opts.Addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s is not reachable: %w (%w)", opts.Addr, err, store.ErrUnavailable)
	}
	return conn, nil
}

// Close releases the connections. Later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return store.ErrClosed
	}
	return s.closeConns()
}

func (s *Store) closeConns() error {
	err := s.conn.Close()
	for _, c := range s.shards {
		_ = c.Close()
	}
	return err
}

// check returns ErrClosed or the context's error.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap gives a server error its context; a cancelled context wins.
func (s *Store) wrap(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	return markUnavailable(fmt.Errorf("clickhouse %s: %s: %w", s.opts.Addr, what, err))
}

// nextSeq returns n increasing sequence numbers (the first is returned):
// a hybrid clock, so that writes after a reopen still come later.
func (s *Store) nextSeq(n int) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := max(s.lastSeq+1, uint64(time.Now().UnixNano()))
	s.lastSeq = seq + uint64(n)
	return seq
}

// Stats reports the stored record count and the bytes of the database's
// active parts.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	if err := s.check(ctx); err != nil {
		return store.Stats{}, err
	}
	var st store.Stats
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM records").Scan(&n); err != nil {
		return store.Stats{}, s.wrap(ctx, "count records", err)
	}
	st.Records = int64(n)
	var b uint64
	conns, addrs, _ := s.partsConns()
	for i, c := range conns {
		var n uint64
		q := "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = " + quote(s.opts.Database)
		if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
			return store.Stats{}, s.wrap(ctx, "size of parts on "+addrs[i], err)
		}
		b += n
	}
	st.DiskBytes = int64(min(b, math.MaxInt64))
	return st, nil
}

// quote returns s as a ClickHouse string literal, every byte escaped, so
// that binary keys survive.
func quote(s string) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 2+4*len(s))
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '-' || c == '_' || c == '.' {
			b = append(b, c)
			continue
		}
		b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
	}
	return string(append(b, '\''))
}

// i64 is an Int64 literal (the minimum is not a literal ClickHouse parses).
func i64(v int64) string { return fmt.Sprintf("toInt64('%d')", v) }

// idList is an IN list of trace IDs.
func idList(ids []xrayid.TraceID) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "unhex('%x')", id[:])
	}
	b.WriteByte(')')
	return b.String()
}

func toID(s string) (xrayid.TraceID, error) {
	var id xrayid.TraceID
	if len(s) != len(id) {
		return id, errors.New("trace ID column is not 16 bytes")
	}
	copy(id[:], s)
	return id, nil
}
