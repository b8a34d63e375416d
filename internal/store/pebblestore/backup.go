package pebblestore

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Backup writes a consistent copy of the store to dest, which must not
// exist: Pebble's checkpoint (tables hard-linked when dest is on the same
// file system, copied otherwise; the manifest, options and write-ahead logs
// copied), plus an acknowledgement ledger matching the copy, so that a
// store restored from it detects a log damaged later.
func (s *Store) Backup(dest string) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	stored, err := s.getCount(metaWrittenKey)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if err := s.db.Checkpoint(dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if stored == 0 {
		return nil
	}
	f, err := s.fs.Create(s.fs.PathJoin(dest, ledgerFile), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	_, err = f.Write(binary.BigEndian.AppendUint64(nil, uint64(stored)))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %s: %w", dest, ledgerFile, err)
	}
	return nil
}
