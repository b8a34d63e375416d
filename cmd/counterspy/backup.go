package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

func init() {
	commands["backup"] = command{"copy a stopped server's store consistently to a new directory", runBackup}
}

// runBackup opens the store and writes a checkpoint of it
// (pebblestore.Store.Backup) under --to, laid out as a data directory: to
// restore, stop the server and point --data-dir at it (or copy it back).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("backup", stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, `usage: counterspy backup [--data-dir DIR] --to NEWDIR

Writes a consistent copy of a stopped server's store to NEWDIR (which must
not exist), laid out as a data directory. Tables are hard-linked when NEWDIR
is on the same file system (instant, no extra space until they change),
copied otherwise. To restore: stop the server, then serve with
--data-dir NEWDIR (or move NEWDIR into place); counterspy doctor checks it.

Examples:
  counterspy backup --to /backup/counterspy-2026-12-07
  counterspy backup --data-dir /var/lib/counterspy --to /mnt/other-disk/counterspy

Flags:
`)
		flags.PrintDefaults()
	}
	dataDir := flags.String("data-dir", defaultDataDir(), "`directory` of the server's data (as given to serve)")
	to := flags.String("to", "", "new `directory` for the copy (must not exist)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{errors.New("--to is required")}
	}
	if _, err := os.Stat(*to); err == nil {
		return fmt.Errorf("%s exists: back up into a new directory", *to)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// Read-write: a Pebble checkpoint needs the options file a read-only
	// open does not have. Opening replays the write-ahead log into a table.
	st, err := pebblestore.Open(filepath.Join(*dataDir, "traces"), pebblestore.Options{Logger: log})
	if errors.Is(err, syscall.EAGAIN) {
		return fmt.Errorf("%w (is a server running on it? stop it first)", err)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if err := os.MkdirAll(*to, 0o755); err != nil {
		return err
	}
	if err := st.Backup(filepath.Join(*to, "traces")); err != nil {
		return err
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %d records to %s\n", stats.Records, *to)
	return nil
}
