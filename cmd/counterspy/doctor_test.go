package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TestDoctor: doctor passes a sound store, names a truncated write-ahead
// log and the acknowledged records it lost (exit status 1) — as serve does
// when it refuses to start — and --accept-loss lets the server start again.
func TestDoctor(t *testing.T) {
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "traces")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pebblestore.Open(dir, pebblestore.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	gen := xrayid.NewGenerator(3)
	for i := range 100 {
		tr, id := gen.TraceID(time.Now()), gen.SegmentID()
		doc := fmt.Sprintf(`{"name":"svc","id":"%s","trace_id":"%s","start_time":%d,"end_time":%d}`, id, tr, i, i+1)
		if err := st.Write(context.Background(), &store.Batch{Records: []store.Record{{TraceID: tr, ID: id, Received: time.Now().UnixNano(), Doc: []byte(doc)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	doctor := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"doctor", "--data-dir", dataDir}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := doctor(); code != 0 || !strings.Contains(out, "ok: no damage found") || !strings.Contains(out, "acknowledged 100 records") {
		t.Fatalf("doctor on a sound store: %d\n%s", code, out)
	}

	var logs []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, _ := e.Info(); strings.HasSuffix(e.Name(), ".log") && fi.Size() > 0 {
			logs = append(logs, e.Name())
		}
	}
	slices.Sort(logs)
	wal := filepath.Join(dir, logs[len(logs)-1])
	fi, _ := os.Stat(wal)
	if err := os.Truncate(wal, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	code, out := doctor()
	if code != 1 || !strings.Contains(out, "DAMAGED write-ahead log") || !strings.Contains(out, "acknowledged records") || !strings.Contains(out, "--accept-loss") {
		t.Fatalf("doctor on a truncated log: %d\n%s", code, out)
	}
	t.Logf("doctor:\n%s", out)
	_, err = server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "lost") || !strings.Contains(err.Error(), "doctor") {
		t.Fatalf("serve on a store that lost acknowledged records: %v", err)
	}

	if code, out := doctor("--accept-loss"); code != 0 || !strings.Contains(out, "given up") {
		t.Fatalf("doctor --accept-loss: %d\n%s", code, out)
	}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Logger: quiet})
	if err != nil {
		t.Fatalf("serve after --accept-loss: %v", err)
	}
	srv.Close(context.Background())
	if code, out := doctor(); code != 0 || !strings.Contains(out, "earlier accepted loss") {
		t.Fatalf("doctor after --accept-loss: %d\n%s", code, out)
	}
}

// TestBackup: backup writes a copy that doctor passes, that holds every
// record, and that a server serves.
func TestBackup(t *testing.T) {
	dataDir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pebblestore.Open(filepath.Join(dataDir, "traces"), pebblestore.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	gen := xrayid.NewGenerator(5)
	var ids []xrayid.TraceID
	for i := range 50 {
		tr, id := gen.TraceID(time.Now()), gen.SegmentID()
		doc := fmt.Sprintf(`{"name":"svc","id":"%s","trace_id":"%s","start_time":%d,"end_time":%d}`, id, tr, i, i+1)
		if err := st.Write(context.Background(), &store.Batch{Records: []store.Record{{TraceID: tr, ID: id, Received: time.Now().UnixNano(), Doc: []byte(doc)}}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tr)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "copy")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"backup", "--data-dir", dataDir, "--to", to}, &out, &errOut); code != 0 {
		t.Fatalf("backup: %d\n%s%s", code, &out, &errOut)
	}
	out.Reset()
	if code := run(context.Background(), []string{"doctor", "--data-dir", to}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "acknowledged 50 records") {
		t.Fatalf("doctor on the backup: %d\n%s%s", code, &out, &errOut)
	}
	if code := run(context.Background(), []string{"backup", "--data-dir", dataDir, "--to", to}, &out, &errOut); code == 0 {
		t.Fatal("backup over an existing directory succeeded")
	}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: to, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	n := 0
	for tr, err := range srv.Store().Traces(context.Background(), ids) {
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Records) == 1 {
			n++
		}
	}
	if n != len(ids) {
		t.Fatalf("%d of %d traces in the backup", n, len(ids))
	}
}
