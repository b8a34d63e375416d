package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ledgerFile, next to Pebble's files, holds how many records and log lines
// the store has acknowledged (Writes that returned nil), as 8 big-endian
// bytes.
//
// Pebble replays its newest write-ahead log up to the first damaged or
// missing record and takes the rest for a torn tail, the normal end of a
// log after a crash: a log truncated or damaged after the fact loses
// acknowledged data with only an INFO line. The ledger tells the two apart.
// It is rewritten (without fsync, after the WAL's fsync) after every Write,
// so it never counts more than the WAL made durable; on Open it is compared
// with metaWrittenKey, the same count kept inside the store. A ledger
// ahead of the store means acknowledged data is gone: Open refuses (a
// LostError) unless Options.AcceptLoss.
//
// The ledger may lag (a crash between the WAL's fsync and its rewrite, or
// a machine crash losing its page): that only hides a loss, never invents
// one. With NoSync nothing is written before the WAL reaches the disk, so
// there is no ledger.
const ledgerFile = "COUNTERSPY-ACKED"

// metaLostKey counts the records a doctor --accept-loss gave up (merged
// like record counts), so that the loss stays on record.
var metaLostKey = []byte{prefixMeta, 'l', 'o', 's', 't'}

// LostError is returned by Open when acknowledged data is missing from the
// store.
type LostError struct {
	Dir          string
	Acknowledged int64 // records and log lines acknowledged, per the ledger
	Stored       int64 // records and log lines the store holds, per itself
}

func (e *LostError) Error() string {
	return fmt.Sprintf("the store in %s lost %d acknowledged records (segments and log lines): %d were acknowledged, "+
		"the store holds %d; its write-ahead log was truncated or damaged after they were written. "+
		"Restore the directory from a backup, or run `counterspy doctor --data-dir DIR --accept-loss` to go on with what is left",
		e.Dir, e.Lost(), e.Acknowledged, e.Stored)
}

// Lost is how many acknowledged records and log lines are missing.
func (e *LostError) Lost() int64 { return e.Acknowledged - e.Stored }

type ledger struct {
	mu   sync.Mutex
	f    vfs.File // nil: no ledger (NoSync, read-only)
	last int64    // value in the file
	n    atomic.Int64
	buf  [8]byte
}

// add counts n more acknowledged records and rewrites the file. A failed
// rewrite is logged: the ledger then lags, which hides a loss at worst.
func (l *ledger) add(n int64, log *slog.Logger) {
	if l.f == nil || n == 0 {
		return
	}
	v := l.n.Add(n)
	l.mu.Lock()
	defer l.mu.Unlock()
	if v <= l.last {
		return // a concurrent Write wrote a later count
	}
	binary.BigEndian.PutUint64(l.buf[:], uint64(v))
	if _, err := l.f.WriteAt(l.buf[:], 0); err != nil {
		log.Warn("updating the acknowledgement ledger failed", "err", err)
		return
	}
	l.last = v
}

func (l *ledger) close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// readLedger returns the ledger's count, and false if there is none.
func readLedger(fsys vfs.FS, dir string) (int64, bool, error) {
	f, err := fsys.Open(fsys.PathJoin(dir, ledgerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", ledgerFile, err)
	}
	defer f.Close()
	var b [9]byte
	n, err := io.ReadFull(f, b[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return 0, false, nil // created, never written
	case n != 8:
		return 0, false, fmt.Errorf("read %s: %w: %d bytes", ledgerFile, errCorrupt, n)
	}
	return int64(binary.BigEndian.Uint64(b[:8])), true, nil
}

// openLedger compares the ledger with the store's own count and, unless the
// store is read-only or NoSync, opens it for Writes.
func (s *Store) openLedger() error {
	stored, err := s.getCount(metaWrittenKey)
	if err != nil {
		return err
	}
	s.ledger.n.Store(stored)
	if s.opts.ReadOnly {
		return nil // Check compares for itself
	}
	acked, ok, err := readLedger(s.fs, s.dir)
	if err != nil {
		return err
	}
	if ok && acked > stored {
		lost := &LostError{Dir: s.dir, Acknowledged: acked, Stored: stored}
		if !s.opts.AcceptLoss {
			return lost
		}
		s.log.Error("going on without acknowledged data the store lost", "lost_records", lost.Lost(), "acknowledged", acked, "stored", stored, "dir", s.dir)
		b := s.db.NewBatch()
		defer b.Close()
		if err := b.Merge(metaLostKey, binary.AppendVarint(nil, lost.Lost()), nil); err != nil {
			return err
		}
		if err := s.commitBatch(b, pebble.Sync); err != nil {
			return fmt.Errorf("record the loss: %w", err)
		}
	}
	if s.opts.NoSync || s.readOnly() {
		return nil
	}
	f, err := s.fs.OpenReadWrite(s.fs.PathJoin(s.dir, ledgerFile), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("open %s: %w", ledgerFile, err)
	}
	s.ledger.f = f
	// Start from the store's count: a ledger ahead of it was accepted.
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(stored))
	if _, err := f.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("write %s: %w", ledgerFile, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", ledgerFile, err)
	}
	s.ledger.last = stored
	return nil
}

// getCount reads a merged varint count (0 if absent).
func (s *Store) getCount(key []byte) (int64, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %q: %w", key, err)
	}
	defer closer.Close()
	return decodeCount(v), nil
}

// LostRecords is how many acknowledged records and log lines were given up
// with AcceptLoss over the store's life.
func (s *Store) LostRecords() (int64, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	return s.getCount(metaLostKey)
}
