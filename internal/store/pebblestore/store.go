package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// formatVersion is the version of the key layout and frame codecs this build
// writes and reads. Bump it for any change an older build would misread.
//
// Version 2 added summaries, ByEnd entries and index terms (s, e, i keys).
// Version 3 added graph counters (g), log lines (l), MetaStore values
// (m/) and the log sequence mark (mseq); g keys and mseq are merged, which
// a version 2 build would do wrong (as record counts), hence the bump. A
// store of an older version has none of these keys and is upgraded in
// place on Open. Version 4 indexes terms with 8-byte trace references (j
// keys, merged: a version 3 build would merge them as record counts)
// instead of 16-byte IDs (i keys); a version 3 store keeps its i keys,
// which scans and counts still read until retention drops them, and is
// upgraded in place on Open. Version 5 writes summaries in summary format
// version 2 (calls without segment IDs), which a version 4 build cannot
// decode; version 1 summaries of an upgraded store still read.
const formatVersion = 5

// Store is the embedded backend. It is safe for concurrent use.
type Store struct {
	db    *pebble.DB
	codec *codec
	opts  Options
	log   *slog.Logger
	wopts *pebble.WriteOptions
	dir   string

	// closeMu is held shared by every operation while it uses db, and
	// exclusively by Close, so that Close waits for them and they see
	// closed afterwards.
	closeMu sync.RWMutex
	closed  bool
	// scans counts summary scans in progress. A scan holds db between
	// yields, when its caller may call the store again, so it does not hold
	// closeMu (a pending Close would block that call and the scan forever):
	// it registers under closeMu, and Close waits for it to end. closing
	// tells running scans to stop.
	scans   sync.WaitGroup
	closing atomic.Bool

	// dropMu is held shared by Write from placement to its count update, and
	// exclusively by DropBefore while it sums and deletes what it drops, so
	// that the in-memory record count matches what is on disk.
	dropMu sync.RWMutex
	// dropSerial serializes DropBefore calls.
	dropSerial sync.Mutex

	// mu guards placement decisions and frame sequence numbers: two Writes
	// of the same new redirected trace must agree on its placement.
	mu        sync.Mutex
	lastSeq   uint64
	redirects redirectCache
	// rfilter spares the disk read for traces that have no redirect
	// (redirectfilter.go).
	rfilter *redirectFilter
	// dropCutoff is the cutoff second of a DropBefore listing redirects
	// (0 when none is), and dropLate the traces redirected below it since
	// its listing began (retention.go).
	dropCutoff uint32
	dropLate   []xrayid.TraceID
	// dense finds the terms most traces carry (dense.go).
	dense denseTracker

	records atomic.Int64
	// sums bounds where summaries are (summaryrange.go).
	sums summaryRange

	fs vfs.FS
	// degraded is set while the database is open read-only for want of
	// space (Options.ReadOnlyWhenFull); guarded like db.
	degraded bool
	// health is shared with Pebble's event listener.
	health *healthState
	ledger ledger
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.Atomic        = (*Store)(nil)
	_ store.TermEstimator = (*Store)(nil)
)

// AtomicWrites declares store.Atomic: a Write is one Pebble batch (frames,
// index, summaries, terms, graph counters, log lines), committed or not as
// a whole; a commit whose write-ahead log write failed comes back on
// reopen either whole or not at all (Pebble replays the log up to the last
// whole batch).
func (s *Store) AtomicWrites() {}

// Open opens the store in dir, creating it if needed. It refuses a directory
// holding another Pebble database or a store of a newer format.
func Open(dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("pebblestore options: %w", err)
	}
	h := &healthState{}
	po := pebbleOptions(opts, h)
	var degraded error
	if !opts.ReadOnly {
		if err := checkOpenSpace(po.FS, dir, opts.MinFreeBytes); err != nil {
			if !opts.ReadOnlyWhenFull || !storeExists(po.FS, dir) {
				po.Cache.Unref()
				return nil, err
			}
			// Serve reads; tryRecover reopens for writing once there is room.
			degraded, po.ReadOnly = err, true
			opts.Logger.Warn("not enough free space to open the store for writing: serving reads only until space returns", "err", err)
		}
	}
	db, err := pebble.Open(dir, po)
	po.Cache.Unref() // the DB holds its own reference
	if err != nil {
		return nil, fmt.Errorf("open pebble store in %s: %w", dir, err)
	}
	c, err := newCodec(opts.ZstdLevel, opts.FrameSize)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Store{
		degraded:  degraded != nil,
		health:    h,
		db:        db,
		codec:     c,
		opts:      opts,
		log:       opts.Logger,
		wopts:     &pebble.WriteOptions{Sync: !opts.NoSync},
		dir:       dir,
		fs:        po.FS,
		redirects: redirectCache{limit: opts.RedirectCacheSize},
	}
	s.sums.v.Store(emptySummaryRange) // load widens it to what is stored
	err = s.load()
	if err == nil {
		err = s.loadRedirectFilter()
	}
	if err != nil {
		_ = s.ledger.close()
		_ = db.Close()
		c.close()
		return nil, fmt.Errorf("open pebble store in %s: %w", dir, err)
	}
	if degraded != nil {
		s.health.failed.Store(&writeFailure{dir: dir, msg: degraded.Error(), err: degraded, readOnly: true})
	}
	return s, nil
}

// load checks the format version (writing it into a new store) and reads
// the state kept in memory: the last frame sequence and the record count.
func (s *Store) load() error {
	v, closer, err := s.db.Get(metaFormatKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		empty, err := s.isEmpty()
		if err != nil {
			return err
		}
		if !empty {
			return errors.New("the directory holds a Pebble database without a Counterspy format version: not a Counterspy store")
		}
		if s.readOnly() {
			return errors.New("the store is empty: no format version")
		}
		if err := s.set(metaFormatKey, binary.AppendUvarint(nil, formatVersion)); err != nil {
			return fmt.Errorf("write format version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("read format version: %w", err)
	default:
		ver, n := binary.Uvarint(v)
		bad := n <= 0 || n != len(v)
		_ = closer.Close()
		switch {
		case bad:
			return fmt.Errorf("unreadable format version %x", v)
		case ver > formatVersion:
			return fmt.Errorf("store format version %d is newer than this build reads (%d): upgrade Counterspy", ver, formatVersion)
		case ver >= 1 && ver < formatVersion && !s.readOnly():
			// Versions 2 to 4 only added keys that older versions never
			// wrote (version 4 stopped writing i keys, and reads them).
			if err := s.set(metaFormatKey, binary.AppendUvarint(nil, formatVersion)); err != nil {
				return fmt.Errorf("upgrade format version %d to %d: %w", ver, formatVersion, err)
			}
		case ver >= 1 && ver < formatVersion:
			// Read-only: an older store reads as it is.
		case ver != formatVersion:
			return fmt.Errorf("store format version %d is not supported (this build reads %d)", ver, formatVersion)
		}
	}

	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixFrame}, UpperBound: []byte{prefixFrame + 1}})
	if err != nil {
		return fmt.Errorf("find the last frame: %w", err)
	}
	if it.Last() {
		if k := it.Key(); len(k) == frameKeyLen {
			s.lastSeq = binary.BigEndian.Uint64(k[1:])
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("find the last frame: %w", err)
	}
	// Log lines may have taken sequence numbers past the last frame.
	v, closer, err = s.db.Get(metaSeqKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read the log sequence: %w", err)
	default:
		n := len(v)
		if n == 8 {
			s.lastSeq = max(s.lastSeq, binary.BigEndian.Uint64(v))
		}
		_ = closer.Close()
		if n != 8 {
			return fmt.Errorf("read the log sequence: %w: %d-byte value", errCorrupt, n)
		}
	}

	if err := s.loadSummaryRange(); err != nil {
		return err
	}
	n, err := s.sumCounts(0, ^uint32(0))
	if err != nil {
		return err
	}
	s.records.Store(n)
	return s.openLedger()
}

// readOnly reports whether the database is open read-only (Options.ReadOnly,
// or for want of space).
func (s *Store) readOnly() bool { return s.opts.ReadOnly || s.degraded }

// storeExists reports whether dir holds a Pebble database.
func storeExists(fsys vfs.FS, dir string) bool {
	names, _ := fsys.List(dir)
	for _, n := range names {
		if strings.HasPrefix(n, "MANIFEST-") {
			return true
		}
	}
	return false
}

func (s *Store) isEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, err
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, err
	}
	return empty, nil
}

// sumCounts adds up the record counts of placement minutes [from, to).
func (s *Store) sumCounts(from, to uint32) (int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: countKey(nil, from), UpperBound: countKey(nil, to)})
	if err != nil {
		return 0, fmt.Errorf("read record counts: %w", err)
	}
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return 0, fmt.Errorf("read record count %x: %w", it.Key(), err)
		}
		n += decodeCount(v)
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("read record counts: %w", err)
	}
	return n, nil
}

// begin marks the start of an operation on db; it fails after Close.
func (s *Store) begin() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (s *Store) end() { s.closeMu.RUnlock() }

// beginScan registers a scan; it fails after Close. The caller calls
// s.scans.Done when the scan has closed its iterators.
func (s *Store) beginScan() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	if s.health.reopening {
		return errReopening
	}
	s.scans.Add(1)
	return nil
}

// iterate runs fn over a new iterator with options o (none if o is nil),
// registered as a scan (see beginScan): fn may yield to its caller between
// steps. step, to be called before each row, fails once the context is done
// or the store is closing. The iterator is closed even if fn panics (a
// loop body that panics).
func (s *Store) iterate(ctx context.Context, o *pebble.IterOptions, fn func(it *pebble.Iterator, step func() error) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.beginScan(); err != nil {
		return err
	}
	defer s.scans.Done()
	if o == nil {
		return fn(nil, nil)
	}
	it, err := s.db.NewIterWithContext(ctx, o)
	if err != nil {
		return fmt.Errorf("open iterator: %w", err)
	}
	open := true
	defer func() {
		if open {
			_ = it.Close()
		}
	}()
	step := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.closing.Load() {
			return store.ErrClosed
		}
		return nil
	}
	err = fn(it, step)
	open = false
	if cerr := it.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close iterator: %w", cerr)
	}
	return err
}

// Close waits for running operations, then closes the database. Scans in
// progress end with ErrClosed at their next step (Close waits for them: a
// caller must not Close inside its own scan loop). Calling Close again
// returns ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	s.closing.Store(true)
	s.closeMu.Unlock()
	// No operation starts now; those that began have ended (Lock waited for
	// them) except scans, which notice closing at their next step.
	s.scans.Wait()
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.codec.close()
	lerr := s.ledger.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close pebble store in %s: %w", s.dir, err)
	}
	if lerr != nil {
		return fmt.Errorf("close pebble store in %s: %s: %w", s.dir, ledgerFile, lerr)
	}
	return nil
}

// Stats reports the size of the store's files (WAL, tables, blob files and
// manifests) and the number of records reachable by trace ID.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	if err := ctx.Err(); err != nil {
		return store.Stats{}, err
	}
	if err := s.begin(); err != nil {
		return store.Stats{}, err
	}
	defer s.end()
	return store.Stats{
		DiskBytes: int64(s.db.Metrics().DiskSpaceUsage()),
		Records:   s.records.Load(),
	}, nil
}

// Compact compacts the whole key space, so that what DropBefore deleted
// leaves the disk and everything sits in the bottom level. Benchmarks use it
// to measure bytes on disk; a server does not need it.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := s.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("compact pebble store in %s: %w", s.dir, err)
	}
	return nil
}

// Metrics returns Pebble's metrics, for benchmarks and a future /metrics.
func (s *Store) Metrics() (*pebble.Metrics, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	return s.db.Metrics(), nil
}

// FormatVersion is the store format this build writes (for `counterspy
// version` and diagnostics).
func FormatVersion() int { return formatVersion }
