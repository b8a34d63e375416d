package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
)

// Problem is one piece of damage Check found.
type Problem struct {
	// File is the damaged or missing file, relative to the store's
	// directory ("" when the damage names none).
	File string
	// Err is what went wrong.
	Err error
	// Advice is what to do about it.
	Advice string
}

// CheckReport is what Check found.
type CheckReport struct {
	Dir      string
	Tables   int   // sstables in the directory
	WALs     int   // write-ahead logs in the directory
	Keys     int64 // keys read, every block's checksum verified
	Frames   int64 // document frames decoded
	Records  int64 // records reachable by trace ID
	Problems []Problem
	// Acknowledged and Stored are the ledger's and the store's counts of
	// records and log lines (Acknowledged is -1 without a ledger).
	Acknowledged, Stored int64
	// LostBefore is what an earlier AcceptLoss gave up.
	LostBefore int64
}

// OK reports whether Check found no damage.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

const (
	adviceRestore = "restore the data directory from a backup (see README: Backup and restore); what the damaged file held is otherwise lost"
	adviceMissing = "a file the store's manifest lists is missing: put it back, or restore the data directory from a backup"
	adviceLost    = "restore the data directory from a backup, or run `counterspy doctor --accept-loss` to record the loss and go on with what is left"
)

// fileRE finds the Pebble file an error message names.
var fileRE = regexp.MustCompile(`\b(\d{6}(?:\.(?:sst|log|blob))?|MANIFEST-\d+|CURRENT|OPTIONS-\d+|` + ledgerFile + `)\b`)

// Check verifies a store without writing to it: it opens it read-only
// (replaying the write-ahead log in memory: a damaged log or manifest, a
// missing table fail here), compares the acknowledgement ledger with the
// store's count, reads every key (Pebble verifies each block's checksum
// as it reads it) and decodes every document frame. A store that cannot
// be opened at all yields a report with that one problem. The server must
// be stopped (the store's lock).
func Check(ctx context.Context, dir string, opts Options) (*CheckReport, error) {
	r := &CheckReport{Dir: dir, Acknowledged: -1}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", dir, err)
	}
	for _, e := range entries {
		switch {
		case strings.HasSuffix(e.Name(), ".sst"):
			r.Tables++
		case strings.HasSuffix(e.Name(), ".log"):
			r.WALs++
		}
	}
	opts.ReadOnly = true
	lost := &LostError{}
	s, err := Open(dir, opts)
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "lock held by") {
			return nil, fmt.Errorf("check %s: %w (is a server running on it? stop it first)", dir, err)
		}
		r.add(err, entries)
		return r, nil
	}
	defer s.Close()
	if r.LostBefore, err = s.LostRecords(); err != nil {
		r.add(err, entries)
	}
	if r.Stored, err = s.getCount(metaWrittenKey); err != nil {
		r.add(err, entries)
	}
	if acked, ok, err := readLedger(s.fs, dir); err != nil {
		r.Problems = append(r.Problems, Problem{File: ledgerFile, Err: err, Advice: "remove the file: it only serves to detect lost data"})
	} else if ok {
		r.Acknowledged = acked
		if acked > r.Stored {
			lost.Dir, lost.Acknowledged, lost.Stored = dir, acked, r.Stored
			r.Problems = append(r.Problems, Problem{File: "write-ahead log", Err: lost, Advice: adviceLost})
		}
	}
	r.Records = s.records.Load()
	if err := s.verifyAll(ctx, r); err != nil {
		r.add(err, entries)
	}
	return r, nil
}

// add records err as a problem, naming the file it mentions (Pebble names
// tables by number alone: the directory's entries complete the name).
func (r *CheckReport) add(err error, entries []os.DirEntry) {
	p := Problem{Err: err, Advice: adviceRestore}
	if m := fileRE.FindString(err.Error()); m != "" {
		p.File = m
		if !strings.Contains(m, ".") && len(m) == 6 {
			p.File = m + ".sst" // a missing file is a table unless found below
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), m+".") {
					p.File = e.Name()
				}
			}
		}
	}
	var lost *LostError
	switch {
	case errors.As(err, &lost):
		p.File, p.Advice = "write-ahead log", adviceLost
	case errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "no such file"):
		p.Advice = adviceMissing
	}
	r.Problems = append(r.Problems, p)
}

// verifyAll reads every key and decodes every frame. A damaged block ends
// the iteration (Pebble cannot step over it), so it stops at the first.
func (s *Store) verifyAll(ctx context.Context, r *CheckReport) error {
	if err := s.db.CheckLevels(nil); err != nil {
		return fmt.Errorf("level invariants: %w", err)
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if r.Keys%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r.Keys++
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("key %x: %w", it.Key(), err)
		}
		if k := it.Key(); len(k) == frameKeyLen && k[0] == prefixFrame {
			_, buf, err := s.codec.decodeFrame(v)
			if err != nil {
				return fmt.Errorf("frame %x: %w", k, err)
			}
			if buf != nil {
				s.codec.release(buf)
			}
			r.Frames++
		}
	}
	return it.Error()
}
