package pebblestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// cacheMemTables is how many memtables the block cache makes room for: the
// mutable one and the spare Pebble keeps for recycling (a third, while one
// is flushed, takes from the blocks for a moment).
const cacheMemTables = 2

// pebbleOptions turns Options into Pebble's. The caller unrefs the cache
// after Open.
func pebbleOptions(o Options, h *healthState) *pebble.Options {
	po := &pebble.Options{
		// Pebble counts memtables against its block cache (they reserve
		// their size in it): without room for them, a cache no larger than
		// two memtables (the old default: 64 MiB, 2 × 32 MiB) holds nothing
		// at all, and every read decompresses.
		Cache:              pebble.NewCache(o.CacheSize + cacheMemTables*int64(o.MemTableSize)),
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       uint64(o.MemTableSize),
		Merger:             merger,
		Logger:             pebbleLogger{o.Logger},
		EventListener:      eventListener(o.Logger, h),
		FS:                 o.fs,
		ReadOnly:           o.ReadOnly,
	}
	if po.FS == nil {
		po.FS = vfs.Default
	}
	// Frames are compressed already and stay as they are (Pebble keeps a
	// block uncompressed when compression does not pay). zstd in the bottom
	// levels, where nearly all data ends up, saves about 3 B per record on
	// the index keys for 0.3 µs more compaction CPU.
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionGood })
	for i := range po.Levels {
		// 32 KiB blocks (Pebble's default is 4 KiB) compress summaries
		// better and scan faster; a lookup that misses the cache
		// decompresses more. Frames are bigger than a block anyway. Over 1M
		// summaries (64 MiB cache), 4, 16 and 32 KiB blocks give: bytes per
		// summary on disk 498, 370, 337 (680 encoded); full ByStart scan
		// 2.5, 1.25, 1.0 s; lookup by ID 15, 23, 35 µs; the 10k traces of
		// a 1% term 19, 181, 280 ms (cached, cached in part, uncached).
		// The write benchmark stores 384 B per record instead of 445, for
		// less compaction CPU.
		po.Levels[i].BlockSize = 32 << 10
		// Bloom filters make the Get of a redirect that does not exist (the
		// common case, on every lookup) skip tables without reading them.
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		po.Levels[i].FilterType = pebble.TableFilter
	}
	return po
}

// merger merges the operands of four kinds of keys, told apart by prefix:
// record counts (c keys), the trace lists of index terms (j keys, and i
// keys of format 3), graph
// counter vectors (g keys) and the log sequence high-water mark (metaSeqKey).
// Its name is part of the on-disk format: Pebble refuses to open a store
// with another merger. It dates from format 1, which had only counts (and
// an older build would merge any other key as one): the format version says
// which kinds a store may hold.
var merger = &pebble.Merger{
	Name: "counterspy.count.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		var m pebble.ValueMerger
		switch {
		case len(key) > 0 && key[0] == prefixTerm:
			m = &idsMerger{width: 16}
		case len(key) > 0 && key[0] == prefixRef:
			m = &idsMerger{width: refLen}
		case len(key) > 0 && key[0] == prefixGraph:
			m = newGraphMerger()
		case bytes.Equal(key, metaSeqKey):
			m = &maxMerger{}
		default:
			m = &countValueMerger{}
		}
		return m, m.MergeNewer(value)
	},
}

// maxMerger keeps the largest of 8-byte big-endian operands.
type maxMerger struct{ max uint64 }

// MergeNewer adds an operand; a malformed one is ignored, for the reason
// countValueMerger gives.
func (m *maxMerger) MergeNewer(v []byte) error {
	if len(v) == 8 {
		m.max = max(m.max, binary.BigEndian.Uint64(v))
	}
	return nil
}

func (m *maxMerger) MergeOlder(v []byte) error { return m.MergeNewer(v) }

func (m *maxMerger) Finish(bool) ([]byte, io.Closer, error) {
	return binary.BigEndian.AppendUint64(nil, m.max), nil, nil
}

// countValueMerger adds signed varints: the record count of a placement
// minute is one merge operand per Write, summed lazily by Pebble.
type countValueMerger struct{ sum int64 }

// MergeNewer adds an operand. A malformed operand counts as zero: failing
// here would fail every compaction that touches it, forever.
func (m *countValueMerger) MergeNewer(v []byte) error {
	m.sum += decodeCount(v)
	return nil
}

func (m *countValueMerger) MergeOlder(v []byte) error { return m.MergeNewer(v) }

func (m *countValueMerger) Finish(bool) ([]byte, io.Closer, error) {
	return binary.AppendVarint(nil, m.sum), nil, nil
}

// idsMerger unites lists of fixed-width IDs: the value of a term key (j)
// is the references (8 bytes each) to the traces placed at its second
// indexed under its term, that of a format 3 term key (i) their trace IDs
// (16 bytes each), in ascending order without duplicates. Each Write merges
// in the IDs it indexes; Finish sorts and deduplicates the union.
type idsMerger struct {
	width int
	ids   []byte
	n     int // operands
}

// MergeNewer adds an operand. Trailing bytes of a malformed operand (not a
// whole number of IDs) are dropped, for the reason countValueMerger gives.
func (m *idsMerger) MergeNewer(v []byte) error {
	m.ids = append(m.ids, v[:len(v)/m.width*m.width]...)
	m.n++
	return nil
}

func (m *idsMerger) MergeOlder(v []byte) error { return m.MergeNewer(v) }

func (m *idsMerger) Finish(bool) ([]byte, io.Closer, error) {
	if m.n > 1 {
		if m.width == refLen {
			m.ids = sortRefs(m.ids)
		} else {
			m.ids = sortIDs(m.ids)
		}
	}
	return m.ids, nil, nil
}

// sortIDs sorts a list of 16-byte IDs and removes duplicates, in place.
func sortIDs(b []byte) []byte {
	ids := make([]xrayid.TraceID, len(b)/16)
	for i := range ids {
		ids[i] = xrayid.TraceID(b[i*16:])
	}
	slices.SortFunc(ids, compareTraceIDs)
	ids = slices.Compact(ids)
	b = b[:0]
	for i := range ids {
		b = append(b, ids[i][:]...)
	}
	return b
}

// sortRefs is sortIDs for 8-byte references.
func sortRefs(b []byte) []byte {
	refs := make([]uint64, len(b)/refLen)
	for i := range refs {
		refs[i] = binary.BigEndian.Uint64(b[i*refLen:])
	}
	slices.Sort(refs)
	refs = slices.Compact(refs)
	b = b[:0]
	for _, r := range refs {
		b = binary.BigEndian.AppendUint64(b, r)
	}
	return b
}

func decodeCount(v []byte) int64 {
	x, n := binary.Varint(v)
	if n != len(v) {
		return 0
	}
	return x
}

// pebbleLogger sends Pebble's log lines to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	// Pebble narrates opening, WAL replay and compactions at Info: useful to
	// debug the engine, noise to a user, so it is Debug here.
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called on broken invariants and on failed commits (Pebble's
// default exits the process). Pebble's callers do not expect it to return:
// DB.Apply would report a failed commit as a success. It panics with a
// fatalPanic, which commitBatch recovers from in the committing goroutine.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	fp := fatalPanic{msg: msg}
	for _, a := range args {
		if err, ok := a.(error); ok {
			fp.err = err
		}
	}
	panic(fp)
}

func eventListener(l *slog.Logger, h *healthState) *pebble.EventListener {
	l = l.With("component", "pebble")
	return &pebble.EventListener{
		// A flush that fails for want of space is retried by Pebble
		// forever, and writes stall once the memtables are full: refuse
		// them with ErrNoSpace instead until a flush succeeds.
		FlushEnd: func(info pebble.FlushInfo) {
			switch {
			case info.Err == nil:
				h.flushNoSpace.Store(nil)
			case errors.Is(info.Err, syscall.ENOSPC):
				msg := info.Err.Error()
				h.flushNoSpace.Store(&msg)
			}
		},
		BackgroundError: func(err error) { l.Error("background error", "err", err) },
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			l.Error("data corruption", "path", info.Path, "err", info.Details)
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			l.Warn("slow disk", "path", info.Path, "op", info.OpType.String(), "duration", info.Duration)
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			l.Warn("write stall", "reason", info.Reason)
		},
		WriteStallEnd: func() { l.Info("write stall ended") },
	}
}
