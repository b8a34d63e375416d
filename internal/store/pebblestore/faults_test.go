package pebblestore

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// diskFS reports a free space the test sets, over the real file system.
type diskFS struct {
	vfs.FS
	avail atomic.Uint64 // 0: the real figure
}

func (f *diskFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	if a := f.avail.Load(); a != 0 {
		return vfs.DiskUsage{AvailBytes: a, TotalBytes: 1 << 40, UsedBytes: 1<<40 - a}, nil
	}
	return f.FS.GetDiskUsage(path)
}

// acked tracks what a test's Writes acknowledged, and checks it is all
// stored.
type acked struct {
	base time.Time
	n    uint32
	ids  []xrayid.TraceID
}

// write writes one trace of 5 records and remembers it if acknowledged.
func (a *acked) write(s *Store) error {
	a.n++
	id := traceAt(a.base, a.n)
	var recs []store.Record
	for j := range 5 {
		recs = append(recs, rec(id, xrayid.SegmentID(uint64(a.n)*10+uint64(j)+1), a.base))
	}
	err := s.Write(context.Background(), &store.Batch{Records: recs})
	if err == nil {
		a.ids = append(a.ids, id)
	}
	return err
}

// check reads every acknowledged trace back from s.
func (a *acked) check(t *testing.T, s *Store) {
	t.Helper()
	found := 0
	for tr, err := range s.Traces(context.Background(), a.ids) {
		if err != nil {
			t.Fatalf("reading acknowledged traces: %v", err)
		}
		if len(tr.Records) != 5 {
			t.Fatalf("trace %s: %d records, want 5", tr.ID, len(tr.Records))
		}
		found++
	}
	if found != len(a.ids) {
		t.Fatalf("%d of %d acknowledged traces found", found, len(a.ids))
	}
}

// TestDiskFullGuard: below the reserve, writes fail with ErrNoSpace and the
// store says why; reads work; writes resume by themselves when space
// returns; nothing acknowledged is missing.
func TestDiskFullGuard(t *testing.T) {
	dir := t.TempDir()
	fsys := &diskFS{FS: vfs.Default}
	opts := Options{Logger: quiet, MinFreeBytes: 100 << 20, fs: fsys}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	a := &acked{base: time.Now().Truncate(time.Second)}
	for range 20 {
		if err := a.write(s); err != nil {
			t.Fatal(err)
		}
	}
	fsys.avail.Store(90 << 20)
	err = a.write(s)
	if !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Write below the reserve: %v, want ErrNoSpace", err)
	}
	if !strings.Contains(err.Error(), "90.0 MiB free") || !strings.Contains(err.Error(), "need 100.0 MiB") {
		t.Errorf("error %q does not give the figures", err)
	}
	if err := s.PutMeta(context.Background(), "k", []byte("v")); !errors.Is(err, store.ErrNoSpace) {
		t.Errorf("PutMeta below the reserve: %v", err)
	}
	if h := s.Health(); h == nil || !strings.Contains(h.Error(), "disk full") {
		t.Errorf("Health = %v, want disk full", h)
	}
	a.check(t, s) // reads keep working

	fsys.avail.Store(0)
	if h := s.Health(); h != nil {
		t.Errorf("Health after space returned = %v", h)
	}
	for range 5 {
		if err := a.write(s); err != nil {
			t.Fatalf("Write after space returned: %v", err)
		}
	}
	closeStore(t, s)
	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a.check(t, s)
	if len(a.ids) != 25 {
		t.Fatalf("%d writes acknowledged, want 25", len(a.ids))
	}
}

// TestOpenNeedsSpace: a store that cannot replay its log and keep its
// reserve refuses to open and says how much space it needs, or, with
// ReadOnlyWhenFull, serves reads until space returns.
func TestOpenNeedsSpace(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	a := &acked{base: time.Now().Truncate(time.Second)}
	for range 10 {
		if err := a.write(s); err != nil {
			t.Fatal(err)
		}
	}
	closeStore(t, s)
	fsys := &diskFS{FS: vfs.Default}
	fsys.avail.Store(5 << 20)
	_, err = Open(dir, Options{Logger: quiet, fs: fsys})
	if !errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), "need") {
		t.Fatalf("Open with 5 MiB free: %v, want ErrNoSpace saying what it needs", err)
	}
	// Read-only needs no space.
	ro, err := Open(dir, Options{Logger: quiet, fs: fsys, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open with 5 MiB free: %v", err)
	}
	a.check(t, ro)
	closeStore(t, ro)

	// ReadOnlyWhenFull (the server's choice): reads are served, writes
	// refused, and the store reopens for writing once space returns.
	s, err = Open(dir, Options{Logger: quiet, fs: fsys, ReadOnlyWhenFull: true})
	if err != nil {
		t.Fatalf("Open with ReadOnlyWhenFull: %v", err)
	}
	defer s.Close()
	a.check(t, s)
	if err := a.write(s); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Write to a store opened read-only for want of space: %v", err)
	}
	if h := s.Health(); h == nil || !strings.Contains(h.Error(), "read-only") || !strings.Contains(h.Error(), "need") {
		t.Fatalf("Health = %v", h)
	}
	fsys.avail.Store(0)
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still unhealthy after space returned: %v", s.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 5 {
		if err := a.write(s); err != nil {
			t.Fatalf("Write after space returned: %v", err)
		}
	}
	a.check(t, s)
}

// enospc fails writes to the write-ahead log with ENOSPC while on.
type enospc struct{ on atomic.Bool }

func (e *enospc) String() string { return "enospc" }

func (e *enospc) MaybeError(op errorfs.Op) error {
	if !e.on.Load() || op.Kind.ReadOrWrite() != errorfs.OpIsWrite {
		return nil
	}
	if strings.HasSuffix(op.Path, ".log") || op.Kind == errorfs.OpCreate {
		return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
	}
	return nil
}

// TestWALWriteFails: with the reserve check off, a write-ahead-log write
// that fails (ENOSPC injected by errorfs) fails the Write with ErrNoSpace
// instead of killing the process; later writes are refused, reads go on,
// Health says why; when the fault ends the store reopens itself, writes
// resume, and it holds every acknowledged record.
func TestWALWriteFails(t *testing.T) {
	dir := t.TempDir()
	inj := &enospc{}
	opts := Options{Logger: quiet, MinFreeBytes: -1, fs: errorfs.Wrap(vfs.Default, inj)}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	a := &acked{base: time.Now().Truncate(time.Second)}
	for range 20 {
		if err := a.write(s); err != nil {
			t.Fatal(err)
		}
	}
	inj.on.Store(true)
	err = a.write(s)
	if !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Write with the WAL failing: %v, want ErrNoSpace", err)
	}
	if err := a.write(s); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Write after a failed commit: %v, want ErrNoSpace", err)
	}
	if h := s.Health(); h == nil || !strings.Contains(h.Error(), "disk full") {
		t.Errorf("Health = %v, want disk full", h)
	}
	a.check(t, s)

	// Space returns: the store reopens by itself.
	inj.on.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store still unhealthy after the fault ended: %v", s.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 5 {
		if err := a.write(s); err != nil {
			t.Fatalf("Write after recovery: %v", err)
		}
	}
	a.check(t, s)
	closeStore(t, s)
	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a.check(t, s)
}

// failTables fails writes to new tables with err while on.
type failTables struct {
	on  atomic.Bool
	err error
}

func (e *failTables) String() string { return "fail tables" }

func (e *failTables) MaybeError(op errorfs.Op) error {
	if e.on.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && strings.HasSuffix(op.Path, ".sst") {
		return e.err
	}
	return nil
}

// TestFlushFailsForWantOfSpace: when Pebble cannot write a memtable to a
// table (ENOSPC), it retries forever and writes would stall once the
// memtables are full; the store refuses them with ErrNoSpace instead, and
// resumes when a flush succeeds.
func TestFlushFailsForWantOfSpace(t *testing.T) {
	dir := t.TempDir()
	inj := &failTables{err: &os.PathError{Op: "write", Path: "table", Err: syscall.ENOSPC}}
	s, err := Open(dir, Options{Logger: quiet, MinFreeBytes: -1, fs: errorfs.Wrap(vfs.Default, inj)})
	if err != nil {
		t.Fatal(err)
	}
	a := &acked{base: time.Now().Truncate(time.Second)}
	for range 20 {
		if err := a.write(s); err != nil {
			t.Fatal(err)
		}
	}
	inj.on.Store(true)
	if _, err := s.db.AsyncFlush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() == nil {
		if time.Now().After(deadline) {
			t.Fatal("a failing flush does not make the store unhealthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.write(s); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Write while flushes fail: %v, want ErrNoSpace", err)
	}
	a.check(t, s)
	inj.on.Store(false)
	deadline = time.Now().Add(10 * time.Second)
	for s.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still unhealthy after flushes work again: %v", s.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.write(s); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a.check(t, s)
}

// TestWALIOError: an I/O error (not ENOSPC) on the write-ahead log fails
// the Write with an error that is not taken for a full disk; the store
// recovers the same way once the fault ends.
func TestWALIOError(t *testing.T) {
	dir := t.TempDir()
	inj := &failLog{}
	s, err := Open(dir, Options{Logger: quiet, MinFreeBytes: -1, fs: errorfs.Wrap(vfs.Default, inj)})
	if err != nil {
		t.Fatal(err)
	}
	a := &acked{base: time.Now().Truncate(time.Second)}
	for range 10 {
		if err := a.write(s); err != nil {
			t.Fatal(err)
		}
	}
	inj.on.Store(true)
	err = a.write(s)
	if err == nil || errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Write with the WAL failing: %v, want the injected I/O error", err)
	}
	if h := s.Health(); h == nil || !strings.Contains(h.Error(), "write") {
		t.Errorf("Health = %v, want the failed write", h)
	}
	inj.on.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still unhealthy after the fault ended: %v", s.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := a.write(s); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a.check(t, s)
}

// failLog fails writes to the write-ahead log, and file creation, with
// errorfs.ErrInjected while on.
type failLog struct{ on atomic.Bool }

func (e *failLog) String() string { return "fail log" }

func (e *failLog) MaybeError(op errorfs.Op) error {
	if e.on.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && (strings.HasSuffix(op.Path, ".log") || op.Kind == errorfs.OpCreate) {
		return errorfs.ErrInjected
	}
	return nil
}

// TestRecoveryUnderConcurrentLoad fails the write-ahead log for a moment
// while writers and readers run: no panic, no deadlock, reads only ever
// fail with errReopening, and every acknowledged write is stored.
func TestRecoveryUnderConcurrentLoad(t *testing.T) {
	dir := t.TempDir()
	inj := &enospc{}
	s, err := Open(dir, Options{Logger: quiet, MinFreeBytes: -1, fs: errorfs.Wrap(vfs.Default, inj)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base := time.Now().Truncate(time.Second)
	writers := make([]*acked, 3)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for w := range writers {
		a := &acked{base: base, n: uint32(w) << 24}
		writers[w] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := a.write(s); err != nil {
					if !errors.Is(err, store.ErrNoSpace) {
						t.Errorf("Write: %v", err)
						return
					}
					refused.Add(1)
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				ids := []xrayid.TraceID{traceAt(base, 1), traceAt(base, 1<<24|1)}
				for _, err := range s.Traces(ctx, ids) {
					if err != nil && !errors.Is(err, errReopening) && ctx.Err() == nil {
						t.Errorf("Traces: %v", err)
					}
				}
				for _, err := range s.ScanSummaries(ctx, store.SummaryScan{From: 0, To: 1 << 32}) {
					if err != nil && !errors.Is(err, errReopening) && !errors.Is(err, store.ErrClosed) && ctx.Err() == nil {
						t.Errorf("ScanSummaries: %v", err)
					}
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	inj.on.Store(true)
	// At least 300 ms, and until a write has met the fault: on a loaded
	// machine the writers may not get to commit within a fixed moment.
	time.Sleep(300 * time.Millisecond)
	for deadline := time.Now().Add(20 * time.Second); refused.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	inj.on.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for s.Health() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	if h := s.Health(); h != nil {
		t.Fatalf("still unhealthy: %v", h)
	}
	if refused.Load() == 0 {
		t.Fatal("the fault refused no write")
	}
	closeStore(t, s)
	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for _, a := range writers {
		a.check(t, s)
		n += len(a.ids)
	}
	t.Logf("%d writes acknowledged and found, %d refused during the fault", n, refused.Load())
}
