package pebblestore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// damagedStore writes acknowledged traces into a new store, half of them
// flushed to tables and half only in the write-ahead log, and closes it.
func damagedStore(t *testing.T) (string, *acked) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	a := &acked{base: time.Now().Truncate(time.Second)}
	for i := range 200 {
		if err := a.write(s); err != nil {
			t.Fatal(err)
		}
		if i == 99 {
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	closeStore(t, s)
	return dir, a
}

// storeFiles lists dir's files with suffix, sorted.
func storeFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), suffix) && fi.Size() > 0 {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatalf("no %s file in %s", suffix, dir)
	}
	return names
}

func checkStore(t *testing.T, dir string) *CheckReport {
	t.Helper()
	r, err := Check(context.Background(), dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantProblem checks that the report names file and says what to do.
func wantProblem(t *testing.T, r *CheckReport, file, advice string) {
	t.Helper()
	for _, p := range r.Problems {
		if p.File == file && strings.Contains(p.Advice, advice) {
			return
		}
	}
	t.Fatalf("report %+v: no problem naming %q with advice %q", r.Problems, file, advice)
}

func TestCheckHealthyStore(t *testing.T) {
	dir, a := damagedStore(t)
	r := checkStore(t, dir)
	if !r.OK() {
		t.Fatalf("problems in an undamaged store: %+v", r.Problems)
	}
	if r.Acknowledged != int64(len(a.ids)*5) || r.Stored != r.Acknowledged || r.Records != r.Stored || r.Frames == 0 || r.Keys == 0 {
		t.Fatalf("report %+v, want %d acknowledged, stored and reachable records", r, len(a.ids)*5)
	}
}

// TestFlippedByteInTable: a damaged table is reported by Check with its
// name; reads that touch it fail (never wrong data), are counted, and make
// the store unhealthy. The damage is put in a block of document frames (big,
// incompressible documents fill most of the table), so the store still
// opens and the read path is what meets it.
func TestFlippedByteInTable(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Truncate(time.Second)
	noise := make([]byte, 3000)
	docs := map[xrayid.TraceID]string{}
	var ids []xrayid.TraceID
	for i := range 200 {
		id := traceAt(base, uint32(i))
		rand.Read(noise)
		r := store.Record{TraceID: id, ID: xrayid.SegmentID(i + 1), Received: base.UnixNano(),
			Doc: fmt.Appendf(nil, `{"trace_id":"%s","id":"%016x","name":"svc","noise":"%x"}`, id, i+1, noise)}
		mustWrite(t, s, r)
		docs[id], ids = string(r.Doc), append(ids, id)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	ssts := storeFiles(t, dir, ".sst")
	sst := ssts[len(ssts)-1]
	path := filepath.Join(dir, sst)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, checkStore(t, dir), sst, "backup")

	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("Open: %v (the damage should be in a frame block)", err)
	}
	defer s.Close()
	if h := s.Health(); h != nil {
		t.Fatalf("Health before any read met the damage: %v", h)
	}
	failed, good := 0, 0
	for _, id := range ids {
		for tr, err := range s.Traces(context.Background(), []xrayid.TraceID{id}) {
			if err != nil {
				failed++
				break
			}
			if len(tr.Records) != 1 || string(tr.Records[0].Doc) != docs[id] {
				t.Fatalf("trace %s: wrong data read from a damaged store", id)
			}
			good++
		}
	}
	if failed == 0 {
		t.Fatal("no read failed on the damaged table")
	}
	if s.CorruptReads() != int64(failed) {
		t.Fatalf("%d reads failed, %d counted as corruption", failed, s.CorruptReads())
	}
	if h := s.Health(); h == nil || !strings.Contains(h.Error(), "damaged") || !strings.Contains(h.Error(), "doctor") {
		t.Fatalf("Health = %v, want damaged data and what to do", h)
	}
	t.Logf("%d traces read whole, %d reads failed on the damage", good, failed)
}

func TestTruncatedTable(t *testing.T) {
	dir, _ := damagedStore(t)
	sst := storeFiles(t, dir, ".sst")[0]
	if err := os.Truncate(filepath.Join(dir, sst), 100); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, checkStore(t, dir), sst, "backup")
	if s, err := Open(dir, Options{Logger: quiet}); err == nil {
		// Tables are opened lazily: then reads must fail.
		defer s.Close()
		r := &CheckReport{}
		if err := s.verifyAll(context.Background(), r); err == nil {
			t.Fatal("a truncated table reads without error")
		}
	}
}

func TestMissingTable(t *testing.T) {
	dir, _ := damagedStore(t)
	sst := storeFiles(t, dir, ".sst")[0]
	if err := os.Remove(filepath.Join(dir, sst)); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, checkStore(t, dir), sst, "missing")
	if s, err := Open(dir, Options{Logger: quiet}); err == nil {
		s.Close()
		t.Fatal("Open accepts a store missing a table")
	}
}

// TestTruncatedWAL: a newest write-ahead log cut short loses acknowledged
// records that Pebble would silently skip: Open refuses with the count,
// Check reports it, and AcceptLoss goes on and keeps the loss on record.
func TestTruncatedWAL(t *testing.T) {
	dir, a := damagedStore(t)
	logs := storeFiles(t, dir, ".log")
	wal := filepath.Join(dir, logs[len(logs)-1])
	fi, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(wal, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{Logger: quiet})
	var lost *LostError
	if !errors.As(err, &lost) || lost.Lost() <= 0 || lost.Acknowledged != int64(len(a.ids)*5) {
		t.Fatalf("Open after truncating the WAL: %v, want a LostError counting the lost records", err)
	}
	if !strings.Contains(err.Error(), "doctor") {
		t.Errorf("error %q does not say what to do", err)
	}
	r := checkStore(t, dir)
	wantProblem(t, r, "write-ahead log", "accept-loss")

	s, err := Open(dir, Options{Logger: quiet, AcceptLoss: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.LostRecords(); err != nil || n != lost.Lost() {
		t.Fatalf("LostRecords = %d, %v; want %d", n, err, lost.Lost())
	}
	closeStore(t, s)
	// Accepted once: the store opens again, and Check is clean but says
	// what was given up.
	s, err = Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)
	r = checkStore(t, dir)
	if !r.OK() || r.LostBefore != lost.Lost() {
		t.Fatalf("after accepting the loss: %+v", r)
	}
}

// TestFlippedByteInWAL: a damaged record in the middle of the newest log is
// refused at Open (Pebble's corruption, or the ledger's count) and
// reported by Check.
func TestFlippedByteInWAL(t *testing.T) {
	dir, _ := damagedStore(t)
	logs := storeFiles(t, dir, ".log")
	name := logs[len(logs)-1]
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, Options{Logger: quiet}); err == nil {
		s.Close()
		t.Fatal("Open accepts a damaged write-ahead log")
	} else {
		t.Logf("Open: %v", err)
	}
	r := checkStore(t, dir)
	if r.OK() {
		t.Fatal("Check finds nothing wrong with a damaged write-ahead log")
	}
	t.Logf("Check: %+v", r.Problems)
}

// TestFlippedByteInManifest: Pebble reads its manifest like a log and takes
// a bad last record for a torn write, so a damaged manifest either stops
// Open (and Check reports it) or loses only version edits whose loss
// changes nothing: then every acknowledged record is still there (the
// ledger would refuse the store otherwise).
func TestFlippedByteInManifest(t *testing.T) {
	dir, a := damagedStore(t)
	// The current manifest is the one the marker file names.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "marker.manifest.") {
			name = e.Name()[strings.LastIndex(e.Name(), "MANIFEST-"):]
		}
	}
	if name == "" {
		t.Fatal("no manifest marker")
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Logf("Open refuses the damaged manifest: %v", err)
		if r := checkStore(t, dir); r.OK() {
			t.Fatal("Check finds nothing wrong with a manifest Open refuses")
		}
		return
	}
	defer s.Close()
	a.check(t, s)
	t.Logf("a flipped byte in %s (%d bytes) lost nothing acknowledged", name, len(b))
}
