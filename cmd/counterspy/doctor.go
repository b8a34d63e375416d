package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

func init() {
	commands["doctor"] = command{"check a stopped server's data directory for damage and say what to do", runDoctor}
}

// runDoctor checks the store without writing to it (pebblestore.Check) and
// prints what it found; the exit status is 1 when anything is damaged.
// --accept-loss opens a store whose write-ahead log lost acknowledged data,
// records the loss in the store and lets it start again.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("doctor", stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, `usage: counterspy doctor [--data-dir DIR] [--accept-loss]

Verifies a stopped server's store: opens it read-only, replays its
write-ahead log in memory, reads every key with its checksum, decodes every
document frame, and compares what the store holds with what it acknowledged.
Each damaged or missing file is named with what to do. Exit status 1 when
anything is damaged.

Examples:
  counterspy doctor
  counterspy doctor --data-dir /var/lib/counterspy
  counterspy doctor --accept-loss      # go on without acknowledged data a damaged log lost

Flags:
`)
		flags.PrintDefaults()
	}
	dataDir := flags.String("data-dir", defaultDataDir(), "`directory` of the server's data (as given to serve)")
	acceptLoss := flags.Bool("accept-loss", false,
		"when the write-ahead log lost acknowledged data, record the loss in the store so that the server starts again with what is left")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	dir := filepath.Join(*dataDir, "traces")
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if *acceptLoss {
		st, err := pebblestore.Open(dir, pebblestore.Options{Logger: log, AcceptLoss: true})
		if err != nil {
			return fmt.Errorf("accept the loss: %w", err)
		}
		n, err := st.LostRecords()
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("accept the loss: %w", err)
		}
		fmt.Fprintf(stdout, "the store's record of lost data: %d acknowledged records and log lines given up so far\n", n)
	}
	r, err := pebblestore.Check(ctx, dir, pebblestore.Options{Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "store %s: %d tables, %d write-ahead logs; read %d keys (checksums verified), decoded %d frames; %d records reachable\n",
		r.Dir, r.Tables, r.WALs, r.Keys, r.Frames, r.Records)
	if r.Acknowledged >= 0 {
		fmt.Fprintf(stdout, "acknowledged %d records and log lines, the store holds %d\n", r.Acknowledged, r.Stored)
	}
	if r.LostBefore > 0 {
		fmt.Fprintf(stdout, "earlier accepted loss: %d acknowledged records and log lines\n", r.LostBefore)
	}
	if r.OK() {
		fmt.Fprintln(stdout, "ok: no damage found")
		return nil
	}
	for _, p := range r.Problems {
		file := p.File
		if file == "" {
			file = "(no single file)"
		}
		fmt.Fprintf(stdout, "DAMAGED %s: %v\n  what to do: %s\n", file, p.Err, p.Advice)
	}
	return errors.New(plural(len(r.Problems), "problem") + " found")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
