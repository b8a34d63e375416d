package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

func init() {
	commands["compact"] = command{"compact a stopped server's embedded store and report its size", runCompact}
}

// runCompact opens the store offline (the server must be stopped: the store
// takes a lock), compacts it fully and prints records and bytes on disk.
func runCompact(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("compact", stderr)
	dataDir := flags.String("data-dir", defaultDataDir(), "`directory` of the server's data (as given to serve; env COUNTERSPY_DATA_DIR, as serve's)")
	setUsage(flags, "[--data-dir DIR]", `
Compacts a stopped server's embedded store fully (what Pebble would do over time in the
background) and prints its records and bytes on disk before and after: the figure behind
"bytes on disk per segment". Stop counterspy serve first: the store takes a lock.`,
		"counterspy compact",
		"counterspy compact --data-dir /var/tmp/counterspy-bench")
	// The same environment as serve's, so a shell set up for the server
	// compacts that server's store.
	if err := envDefaults(flags, "COUNTERSPY_"); err != nil {
		return usageError{err}
	}
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	dir := filepath.Join(*dataDir, "traces")
	before, err := dirSize(dir)
	if err != nil {
		return err
	}
	st, err := pebblestore.Open(dir, pebblestore.Options{Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		st.Close()
		return err
	}
	fmt.Fprintf(stderr, "compacting %s (%d records, %.1f MiB)…\n", dir, stats.Records, float64(before)/(1<<20))
	began := time.Now()
	if err := st.Compact(ctx); err != nil {
		st.Close()
		return fmt.Errorf("compact: %w", err)
	}
	// Obsolete files are deleted asynchronously; closing waits for that, so
	// the directory's size is then the truth.
	if err := st.Close(); err != nil {
		return err
	}
	after, err := dirSize(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "compacted in %s\n", time.Since(began).Round(time.Millisecond))
	per := 0.0
	if stats.Records > 0 {
		per = float64(after) / float64(stats.Records)
	}
	fmt.Fprintf(stdout, "records=%d disk_bytes_before=%d disk_bytes_after=%d disk_bytes_per_record=%.1f\n",
		stats.Records, before, after, per)
	return nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}
