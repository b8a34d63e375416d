package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func traceAt(epoch time.Time, n uint32) xrayid.TraceID {
	var id xrayid.TraceID
	binary.BigEndian.PutUint32(id[:4], uint32(epoch.Unix()))
	binary.BigEndian.PutUint32(id[12:], n)
	id[4] = 0xab
	// The random part's first 8 bytes are what term references keep:
	// distinct here too, as in real IDs (and in the order of n).
	binary.BigEndian.PutUint32(id[8:], n)
	return id
}

func rec(tr xrayid.TraceID, id xrayid.SegmentID, received time.Time) store.Record {
	return store.Record{TraceID: tr, ID: id, Received: received.UnixNano(),
		Doc: fmt.Appendf(nil, `{"trace_id":"%s","id":"%s","name":"svc"}`, tr, id)}
}

func mustWrite(t *testing.T, s *Store, recs ...store.Record) {
	t.Helper()
	if err := s.Write(context.Background(), &store.Batch{Records: recs}); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// keysByPrefix counts the store's keys by their first byte.
func keysByPrefix(t *testing.T, s *Store) map[byte]int {
	t.Helper()
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := map[byte]int{}
	for ok := it.First(); ok; ok = it.Next() {
		n[it.Key()[0]]++
	}
	return n
}

// rawSet writes a key behind the store's back.
func rawSet(t *testing.T, s *Store, k, v []byte) {
	t.Helper()
	if err := s.db.Set(k, v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFormatVersion(t *testing.T) {
	f := func(version []byte, wantErr string) {
		t.Helper()
		s := openTest(t, Options{})
		rawSet(t, s, metaFormatKey, version)
		closeStore(t, s)
		_, err := Open(s.dir, s.opts)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("format %x: Open error %v, want one containing %q", version, err, wantErr)
		}
	}
	f(binary.AppendUvarint(nil, formatVersion+1), "newer than this build")
	f(binary.AppendUvarint(nil, 0), "not supported")
	f([]byte{0xff}, "unreadable format version")

	// The version written at creation reads back.
	s := openTest(t, Options{})
	mustWrite(t, s, rec(traceAt(time.Now(), 1), 1, time.Now()))
	s = reopenTest(t, s)
	v, closer, err := s.db.Get(metaFormatKey)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if got, _ := binary.Uvarint(v); got != formatVersion {
		t.Fatalf("format version %d on disk, want %d", got, formatVersion)
	}
}

func TestRefusesForeignPebble(t *testing.T) {
	dir := t.TempDir()
	opts, _ := Options{Logger: quiet}.withDefaults()
	po := pebbleOptions(opts, &healthState{})
	db, err := pebble.Open(dir, po)
	po.Cache.Unref()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("someone else's key"), nil, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, opts)
	if err == nil || !strings.Contains(err.Error(), "not a Counterspy store") {
		t.Fatalf("Open of a foreign Pebble store: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	f := func(o Options, wantErr string) {
		t.Helper()
		_, err := Open(t.TempDir(), o)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Open(%+v): %v, want an error containing %q", o, err, wantErr)
		}
	}
	f(Options{FrameSize: 10}, "frame size")
	f(Options{ZstdLevel: 23}, "zstd level")
	f(Options{EpochFuture: time.Millisecond}, "epoch window")
	f(Options{EpochPast: -time.Hour}, "epoch window")
	f(Options{CacheSize: -1}, "negative size")
}

// TestKeyLayout checks the keys one Write creates: one frame per FrameSize,
// one index key per trace, redirects only for implausible epochs.
func TestKeyLayout(t *testing.T) {
	s := openTest(t, Options{FrameSize: 4 << 10, NoSync: true})
	now := time.Now()
	var recs []store.Record
	for i := range 200 {
		recs = append(recs, rec(traceAt(now, uint32(i%20)), xrayid.SegmentID(i+1), now))
	}
	odd := traceAt(time.Unix(0, 0), 99)
	recs = append(recs, rec(odd, 1000, now), rec(odd, 1001, now))
	mustWrite(t, s, recs...)
	n := keysByPrefix(t, s)
	if n[prefixTrace] != 21 {
		t.Errorf("%d index keys, want 21 (one per trace)", n[prefixTrace])
	}
	if n[prefixFrame] < 3 || n[prefixFrame] > 8 {
		t.Errorf("%d frames for ~16 KiB in 4 KiB frames", n[prefixFrame])
	}
	if n[prefixRedirect] != 1 || n[prefixRedirectTime] != 0 {
		t.Errorf("%d redirects and %d time twins, want 1 redirect and no twin (format 3 wrote one)", n[prefixRedirect], n[prefixRedirectTime])
	}
	if n[prefixMeta] != 2 {
		t.Errorf("%d meta keys, want 2 (format version, written count)", n[prefixMeta])
	}

	// A second batch of the redirected trace writes no second redirect.
	mustWrite(t, s, rec(odd, 1002, now))
	if n := keysByPrefix(t, s); n[prefixRedirect] != 1 || n[prefixTrace] != 22 {
		t.Errorf("after a second batch: %d redirects, %d index keys; want 1 and 22", n[prefixRedirect], n[prefixTrace])
	}

	// Frame sequence numbers are the write time, and keep increasing across
	// a reopen even when the clock would not.
	s.mu.Lock()
	s.lastSeq += uint64(time.Hour) // as if the clock had gone back an hour
	s.mu.Unlock()
	mustWrite(t, s, rec(odd, 1003, now))
	last := s.lastSeq
	if last < uint64(now.Add(time.Hour).UnixNano()) {
		t.Fatalf("frame sequence %d went back with the clock", last)
	}
	s = reopenTest(t, s)
	if s.lastSeq != last {
		t.Fatalf("reopened with last frame %d, want %d", s.lastSeq, last)
	}
	mustWrite(t, s, rec(odd, 1004, now))
	if s.lastSeq <= last {
		t.Fatalf("frame sequence %d after reopen, want more than %d", s.lastSeq, last)
	}
}

func TestPlacement(t *testing.T) {
	s := openTest(t, Options{EpochPast: 30 * 24 * time.Hour, EpochFuture: time.Hour, NoSync: true})
	arrival := int64(1_764_067_200)
	past, future := int64(30*24*3600), int64(3600)
	f := func(epoch int64, want int64) {
		t.Helper()
		var id xrayid.TraceID
		binary.BigEndian.PutUint32(id[:4], uint32(epoch))
		id[15] = byte(epoch) // distinct IDs, no cache hits between cases
		id[14] = 0xee
		s.mu.Lock()
		got, _, err := s.placeLocked(id, arrival)
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if int64(got) != want {
			t.Fatalf("epoch %d arriving at %d placed at %d, want %d", epoch, arrival, got, want)
		}
	}
	f(arrival, arrival)
	f(arrival-past, arrival-past)
	f(arrival-past-1, arrival)
	f(arrival+future, arrival+future)
	f(arrival+future+1, arrival)
	f(0, arrival)
	f(0xffffffff, arrival)

	g := func(received, now, want int64) {
		t.Helper()
		if got := arrivalSec(received, now); got != want {
			t.Fatalf("arrivalSec(%d, %d) = %d, want %d", received, now, got, want)
		}
	}
	g(5e9, 9e9, 5)
	g(12e9, 9e9, 9) // from the future: now
	g(0, 9e9, 9)    // unset: now
	g(-1, 9e9, 9)
}

// TestRetentionRanges checks what DropBefore leaves on disk: index and counts
// by placement minute, frames only once EpochFuture older than the cutoff.
func TestRetentionRanges(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	old, fresh := traceAt(now.Add(-48*time.Hour), 1), traceAt(now, 2)
	odd := traceAt(time.Unix(0, 0), 3)
	mustWrite(t, s, rec(old, 1, now.Add(-48*time.Hour)), rec(fresh, 2, now), rec(odd, 3, now.Add(-47*time.Hour)))

	if err := s.DropBefore(context.Background(), now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n := keysByPrefix(t, s)
	if n[prefixTrace] != 1 || n[prefixRedirect] != 0 || n[prefixRedirectTime] != 0 || n[prefixCount] != 1 {
		t.Fatalf("after dropping a day back: keys %v; want 1 index key, no redirects, 1 count", n)
	}
	if n[prefixFrame] != 1 {
		t.Fatalf("the frame written now was dropped: keys %v", n)
	}
	if got := s.records.Load(); got != 1 {
		t.Fatalf("%d records counted, want 1", got)
	}

	// A cutoff 30 minutes ahead drops the index but not the frame, which
	// may hold traces placed up to EpochFuture (1h) after its write.
	if err := s.DropBefore(context.Background(), now.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixTrace] != 0 || n[prefixFrame] != 1 {
		t.Fatalf("cutoff +30m: keys %v, want no index and the frame", n)
	}
	if err := s.DropBefore(context.Background(), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixFrame] != 0 || n[prefixCount] != 0 {
		t.Fatalf("cutoff +2h: keys %v, want no frames or counts", n)
	}
	if got := s.records.Load(); got != 0 {
		t.Fatalf("%d records counted, want 0", got)
	}
}

// TestManyRedirectsExpire drops more redirects than one deletion chunk.
func TestManyRedirectsExpire(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	arrived := time.Now().Add(-72 * time.Hour)
	var recs []store.Record
	for i := range redirectDeleteChunk + 500 {
		recs = append(recs, rec(traceAt(time.Unix(int64(i), 0), uint32(i)), 1, arrived))
	}
	mustWrite(t, s, recs...)
	if n := keysByPrefix(t, s); n[prefixRedirect] != len(recs) {
		t.Fatalf("%d redirects, want %d", n[prefixRedirect], len(recs))
	}
	if err := s.DropBefore(context.Background(), time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixRedirect] != 0 || n[prefixRedirectTime] != 0 || n[prefixTrace] != 0 {
		t.Fatalf("after expiry: keys %v", n)
	}
}

// TestCorruptionInStore damages stored values: reads return errors, not
// panics or wrong data.
func TestCorruptionInStore(t *testing.T) {
	now := time.Now()
	id := traceAt(now, 1)
	setup := func(t *testing.T) (*Store, []byte, []byte) {
		s := openTest(t, Options{NoSync: true})
		mustWrite(t, s, rec(id, 1, now), rec(id, 2, now), rec(traceAt(now, 2), 3, now))
		it, err := s.db.NewIter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var frameK, indexK []byte
		for ok := it.First(); ok; ok = it.Next() {
			switch k := it.Key(); k[0] {
			case prefixFrame:
				frameK = append([]byte(nil), k...)
			case prefixTrace:
				if indexK == nil {
					indexK = append([]byte(nil), k...)
				}
			}
		}
		return s, frameK, indexK
	}
	read := func(s *Store) error {
		for _, err := range s.Traces(context.Background(), []xrayid.TraceID{id}) {
			if err != nil {
				return err
			}
		}
		return nil
	}
	f := func(name string, damage func(s *Store, frameK, indexK []byte)) {
		t.Run(name, func(t *testing.T) {
			s, frameK, indexK := setup(t)
			damage(s, frameK, indexK)
			if err := read(s); !errors.Is(err, errCorrupt) {
				t.Fatalf("read after damage: %v, want errCorrupt", err)
			}
		})
	}
	f("frame garbage", func(s *Store, k, _ []byte) { rawSet(t, s, k, []byte("garbage")) })
	f("frame empty", func(s *Store, k, _ []byte) { rawSet(t, s, k, nil) })
	f("frame newer codec", func(s *Store, k, _ []byte) { rawSet(t, s, k, []byte{2, 0, 0}) })
	f("frame truncated", func(s *Store, k, _ []byte) {
		v, closer, _ := s.db.Get(k)
		v = append([]byte(nil), v[:len(v)/2]...)
		closer.Close()
		rawSet(t, s, k, v)
	})
	f("index value", func(s *Store, _, k []byte) { rawSet(t, s, k, []byte{0xff}) })
	f("index points at another run", func(s *Store, _, k []byte) { rawSet(t, s, k, []byte{0, 1}) })
	f("index points past the runs", func(s *Store, _, k []byte) { rawSet(t, s, k, []byte{0, 7}) })
}

// TestRedirectRetention: DropBefore deletes the redirects of the traces it
// drops, found through their index keys (no time-ordered twin since format
// 4), through the twin for a redirect written without records, and through
// the twins a format 3 store wrote for all.
func TestRedirectRetention(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	a, b, c := arrivalID(1), arrivalID(2), arrivalID(3)
	mustWrite(t, s, rec(a, 1, old))
	mustWriteBatch(t, s, &store.Batch{Summaries: []store.SummaryRecord{sumRec(b, now.Unix(), 0, "b")}})
	// c as format 3 left it: the redirect and its twin.
	sec := binary.BigEndian.AppendUint32(nil, uint32(old.Unix()))
	rawSet(t, s, redirectKey(nil, c), sec)
	rawSet(t, s, redirectTimeKey(nil, uint32(old.Unix()), c), nil)
	if n := keysByPrefix(t, s); n[prefixRedirect] != 3 || n[prefixRedirectTime] != 2 {
		t.Fatalf("keys %v: want 3 redirects, twins for b and c only", n)
	}
	if err := s.DropBefore(context.Background(), now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixRedirect] != 1 || n[prefixRedirectTime] != 1 {
		t.Fatalf("keys %v after dropping a day back: want only b's redirect and twin", n)
	}
	if sec, ok, err := s.readRedirect(b); err != nil || !ok || int64(sec) < now.Unix()-1 {
		t.Fatalf("b's redirect: %d %v %v", sec, ok, err)
	}
	if err := s.DropBefore(context.Background(), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := keysByPrefix(t, s); n[prefixRedirect] != 0 || n[prefixRedirectTime] != 0 {
		t.Fatalf("keys %v after dropping everything", n)
	}
}
