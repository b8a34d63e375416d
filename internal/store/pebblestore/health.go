package pebblestore

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/counterspy/counterspy/internal/store"
)

// The store protects itself from three faults (docs/durability.md):
//
//   - A full disk. Pebble treats a failed write-ahead-log write or sync as
//     fatal (DB.Apply calls Logger.Fatalf, "the commit pipeline will be
//     horked"), and so is a failed MANIFEST write in a flush or
//     compaction. So the store refuses writes itself, with store.ErrNoSpace,
//     while the file system has less than MinFreeBytes free, which leaves
//     Pebble room to flush its memtables and finish its compactions. It
//     checks before every write, so writes resume as soon as space returns.
//   - A write that fails anyway (another process filled the disk faster
//     than the reserve, an I/O error). Pebble's Fatalf panics in the
//     committing goroutine (see pebbleLogger); commitBatch recovers it, and
//     the store refuses every later write (the commit pipeline is stuck),
//     keeps serving reads, and reports itself unhealthy until restarted.
//   - Damaged data. Reads that fail on a checksum or a malformed value are
//     counted; Health reports them.

// defaultReserve is the free space a store keeps beyond its memtables, for
// the MANIFEST, compactions' first output files and the OPTIONS file.
const defaultReserve = 32 << 20

// spaceError is store.ErrNoSpace with the figures.
type spaceError struct {
	dir        string
	free, need uint64
	opening    bool
	wal        uint64 // bytes of write-ahead log to replay, when opening
}

func (e *spaceError) Error() string {
	if e.opening {
		return fmt.Sprintf("store: disk full: %s free in %s, need %s (%s of write-ahead log to replay and a %s reserve); free space (counterspy doctor checks the store without writing)",
			mib(e.free), e.dir, mib(e.need), mib(e.wal), mib(e.need-e.wal))
	}
	return fmt.Sprintf("store: disk full: %s free in %s, need %s (the store keeps a reserve so that it never fails mid-write); free space and writes resume by themselves",
		mib(e.free), e.dir, mib(e.need))
}

func (e *spaceError) Is(target error) bool { return target == store.ErrNoSpace }

// mib formats a size in MiB, or GiB and TiB when large.
func mib(n uint64) string {
	switch {
	case n >= 1<<40:
		return fmt.Sprintf("%.1f TiB", float64(n)/(1<<40))
	case n >= 10<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// checkSpace fails with a spaceError when writing extra more bytes would
// leave less than the reserve free. It cannot tell when the file system
// does not say (then the write goes ahead: commitBatch still catches a
// failure).
func (s *Store) checkSpace(extra int) error {
	if msg := s.health.flushNoSpace.Load(); msg != nil {
		return &flushError{msg: *msg}
	}
	if s.opts.MinFreeBytes < 0 {
		return nil
	}
	du, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		return nil
	}
	need := uint64(s.opts.MinFreeBytes) + uint64(extra)
	if du.AvailBytes < need {
		return &spaceError{dir: s.dir, free: du.AvailBytes, need: need}
	}
	return nil
}

// flushError is store.ErrNoSpace while Pebble cannot flush its memtables.
type flushError struct{ msg string }

func (e *flushError) Error() string {
	return "store: disk full: writing the memtable to disk failed (" + e.msg + "); free space and writes resume by themselves"
}

func (e *flushError) Is(target error) bool { return target == store.ErrNoSpace }

// fatalPanic is what pebbleLogger.Fatalf panics with: the message and the
// error among its arguments, if any.
type fatalPanic struct {
	msg string
	err error
}

// writeFailure is the error every write returns after a commit failed.
type writeFailure struct {
	dir      string
	msg      string
	err      error
	readOnly bool // opened read-only for want of space
}

func (e *writeFailure) Error() string {
	switch {
	case e.readOnly:
		return fmt.Sprintf("store: opened read-only, writes refused: %s", e.msg)
	case errors.Is(e.err, syscall.ENOSPC):
		return fmt.Sprintf("store: disk full: a write to %s failed (%s); writes resume by themselves once space is freed", e.dir, e.msg)
	}
	return fmt.Sprintf("store: a write to %s failed (%s); writes resume once the store can be reopened (or restart the server)", e.dir, e.msg)
}

func (e *writeFailure) Unwrap() error { return e.err }

func (e *writeFailure) Is(target error) bool {
	return target == store.ErrNoSpace && (errors.Is(e.err, syscall.ENOSPC) || errors.Is(e.err, store.ErrNoSpace))
}

// commitBatch commits b, turning Pebble's fatal commit error into an error
// (see fatalPanic) that this and every later write return.
func (s *Store) commitBatch(b *pebble.Batch, o *pebble.WriteOptions) (err error) {
	if f := s.health.failed.Load(); f != nil {
		return f
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fp, ok := r.(fatalPanic)
		if !ok {
			panic(r)
		}
		f := &writeFailure{dir: s.dir, msg: fp.msg, err: fp.err}
		if s.health.failed.CompareAndSwap(nil, f) {
			s.log.Error("store write failed; refusing writes until the store can reopen, reads continue", "err", f)
		} else if g := s.health.failed.Load(); g != nil {
			f = g
		}
		err = f
	}()
	return b.Commit(o)
}

// set writes one key durably (like Write) through commitBatch.
func (s *Store) set(key, value []byte) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(key, value, nil); err != nil {
		return err
	}
	return s.commitBatch(b, s.wopts)
}

// readErr counts err if it says that stored data is damaged, and returns it.
func (s *Store) readErr(err error) error {
	if err != nil && (pebble.IsCorruptionError(err) || errors.Is(err, errCorrupt)) {
		s.health.corruptReads.Add(1)
		msg := err.Error()
		s.health.lastCorrupt.Store(&msg)
		s.log.Error("read failed on damaged data", "err", err, "dir", s.dir)
	}
	return err
}

// Health reports why the store cannot do its job now, or nil: the disk is
// below the reserve, a write failed, or reads failed on damaged data.
func (s *Store) Health() error {
	_ = s.tryRecover()
	var errs []error
	if f := s.health.failed.Load(); f != nil {
		errs = append(errs, f)
	} else if err := s.checkSpace(0); err != nil {
		errs = append(errs, err)
	}
	if n := s.health.corruptReads.Load(); n > 0 {
		last := ""
		if p := s.health.lastCorrupt.Load(); p != nil {
			last = *p
		}
		errs = append(errs, fmt.Errorf("store: %d reads failed on damaged data since start (last: %s); stop the server and run `counterspy doctor --data-dir DIR`", n, last))
	}
	return errors.Join(errs...)
}

// CorruptReads is how many reads failed on damaged data since Open.
func (s *Store) CorruptReads() int64 { return s.health.corruptReads.Load() }

// healthState is the Store's fault bookkeeping (embedded in Store).
type healthState struct {
	// flushNoSpace is the error of the last flush, if it failed with ENOSPC.
	flushNoSpace atomic.Pointer[string]

	// recoverMu serializes tryRecover; lastRecover is its last attempt.
	// reopening (guarded by closeMu) fails new scans while it reopens.
	recoverMu   sync.Mutex
	lastRecover time.Time
	reopening   bool

	failed       atomic.Pointer[writeFailure]
	corruptReads atomic.Int64
	lastCorrupt  atomic.Pointer[string]
}

// checkOpenSpace fails with a spaceError when dir's file system cannot take
// the replay of its write-ahead logs (Pebble flushes them to tables as it
// opens) plus the reserve: Pebble would fail part way through, or never
// finish.
func checkOpenSpace(fsys vfs.FS, dir string, reserve int64) error {
	if reserve < 0 {
		return nil
	}
	du, err := fsys.GetDiskUsage(dir)
	if err != nil {
		return nil
	}
	var wal uint64
	names, _ := fsys.List(dir)
	for _, n := range names {
		if strings.HasSuffix(n, ".log") {
			if fi, err := fsys.Stat(fsys.PathJoin(dir, n)); err == nil {
				wal += uint64(fi.Size())
			}
		}
	}
	need := uint64(reserve) + wal
	if du.AvailBytes < need {
		return fmt.Errorf("not enough free space to open the store: %w", &spaceError{dir: dir, free: du.AvailBytes, need: need, opening: true, wal: wal})
	}
	return nil
}

// errReopening fails scans that start while the store reopens its database.
var errReopening = errors.New("store: reopening after a failed write; retry")

// recoverInterval spaces out attempts to reopen a store whose write failed.
const recoverInterval = time.Second

// tryRecover reopens the database after a failed commit, once the disk has
// room again: Pebble's commit pipeline does not recover from a failed WAL
// write, a new DB does (it replays the WAL up to the last whole batch). It
// returns the write failure while the store cannot reopen yet. The caller
// must not hold closeMu.
func (s *Store) tryRecover() error {
	f := s.health.failed.Load()
	if f == nil {
		return nil
	}
	s.health.recoverMu.Lock()
	defer s.health.recoverMu.Unlock()
	if f = s.health.failed.Load(); f == nil {
		return nil
	}
	if time.Since(s.health.lastRecover) < recoverInterval {
		return f
	}
	s.health.lastRecover = time.Now()
	if err := s.checkSpace(0); err != nil {
		return errors.Join(f, err)
	}
	if err := checkOpenSpace(s.fs, s.dir, s.opts.MinFreeBytes); err != nil {
		return errors.Join(f, err)
	}
	// The file system may refuse writes without saying so in its figures
	// (no inodes left, a quota, an I/O error): Pebble's Open would then
	// retry its flush forever. Write and sync a file first.
	if err := probeWrite(s.fs, s.dir); err != nil {
		return errors.Join(f, err)
	}
	// Stop scans as Close does, then swap the database under closeMu. A
	// write stuck inside Pebble's broken commit pipeline would hold closeMu
	// shared forever, and a waiting Lock would then block every read too:
	// TryLock does not.
	if !s.tryLockClose() {
		s.log.Error("a write is stuck in the storage engine after a failed write; reads continue, restart the server to write again", "dir", s.dir)
		return f
	}
	if s.closed {
		s.closeMu.Unlock()
		return store.ErrClosed
	}
	s.health.reopening = true
	s.closing.Store(true)
	s.closeMu.Unlock()
	s.scans.Wait()
	if !s.tryLockClose() {
		s.closeMu.Lock() // only closes are left to wait for: scans are stopped
	}
	defer s.closeMu.Unlock()
	s.health.reopening = false
	s.closing.Store(false)
	if s.closed {
		return store.ErrClosed
	}
	// Close reports the failed write again; the files are what count.
	_ = s.ledger.close()
	s.ledger = ledger{}
	_ = s.db.Close()
	po := pebbleOptions(s.opts, s.health)
	po.FS = s.fs
	db, err := pebble.Open(s.dir, po)
	po.Cache.Unref()
	if err != nil {
		s.log.Error("reopening the store after a failed write failed; restart the server", "err", err, "dir", s.dir)
		// s.db is closed: keep failing writes, reads fail too.
		return errors.Join(f, err)
	}
	s.db = db
	s.degraded = false
	s.mu.Lock()
	s.redirects = redirectCache{limit: s.opts.RedirectCacheSize}
	s.mu.Unlock()
	if err := s.load(); err != nil {
		s.log.Error("reopening the store after a failed write failed; restart the server", "err", err, "dir", s.dir)
		return errors.Join(f, err)
	}
	s.health.failed.Store(nil)
	s.log.Warn("store reopened after a failed write; writes resume", "dir", s.dir)
	return nil
}

// probeFile is written and removed by probeWrite.
const probeFile = "COUNTERSPY-PROBE"

// probeWrite writes and syncs 1 MiB in dir, then removes it.
func probeWrite(fsys vfs.FS, dir string) error {
	name := fsys.PathJoin(dir, probeFile)
	f, err := fsys.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	buf := make([]byte, 64<<10)
	for range 16 {
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := fsys.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	return nil
}

// tryLockClose takes closeMu exclusively if it can within a few seconds.
func (s *Store) tryLockClose() bool {
	deadline := time.Now().Add(5 * time.Second)
	for !s.closeMu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
