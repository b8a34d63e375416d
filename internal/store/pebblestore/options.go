package pebblestore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/counterspy/counterspy/internal/store"
)

// Options configures a Store. The zero value is a durable store with default
// tuning; every zero field takes its default.
type Options struct {
	// NoSync lets Write return before its batch reaches the disk. By default
	// Write fsyncs first, so that a PutTraceSegments that returned 200
	// survives kill -9 and power loss. With NoSync, Write returns once the
	// batch is in Pebble's log buffer, which a background goroutine writes
	// to the file at once: a process crash may lose the last milliseconds
	// of writes, a machine crash the last unsynced batches. There is no
	// acknowledgement ledger then (ledger.go).
	NoSync bool

	// Logger receives Pebble's background errors and warnings. Default
	// slog.Default().
	Logger *slog.Logger

	// EpochPast and EpochFuture bound the plausible start of a trace relative
	// to its first arrival: a trace ID whose embedded second falls within
	// [arrival − EpochPast, arrival + EpochFuture] is placed (and later
	// dropped) by that second, any other by its first arrival. Defaults 30
	// days and 1 hour. DropBefore keeps frames EpochFuture longer than the
	// index, so a large EpochFuture delays disk space reclamation; lowering
	// it on an existing store may drop, for up to the old value, frames
	// that traces placed near the old limit still need.
	EpochPast, EpochFuture time.Duration

	// FrameSize is the raw size at which a frame is cut. Larger frames
	// compress better and cost more to decompress on lookup. Default 128 KiB.
	FrameSize int

	// ZstdLevel is the zstd level of frames (1–22, rounded to the encoder's
	// nearest speed: 1 fastest, 3 default, 7 better, 11+ best). Default 1:
	// on X-Ray documents in 128 KiB frames it compresses as well as 3, for
	// less CPU; 7 saves about 5% of the bytes for 70% more CPU.
	ZstdLevel int

	// CacheSize is Pebble's block cache in bytes. Default 64 MiB. Pebble
	// counts its memtables against the cache, so the store adds room for
	// two memtables to it: the store's memory is about CacheSize plus two
	// memtables (three while a flush falls behind).
	CacheSize int64

	// MemTableSize is the size of each Pebble memtable (and of each WAL
	// before it rolls over). Default 32 MiB.
	MemTableSize int

	// RedirectCacheSize is how many recently placed redirected traces are
	// remembered in memory (up to twice as many are held while the cache
	// turns over). Default 100,000; negative disables the cache.
	RedirectCacheSize int

	// MinFreeBytes is the free space below which writes are refused with
	// store.ErrNoSpace (see health.go). Default two memtables plus 32 MiB;
	// negative disables the check.
	MinFreeBytes int64

	// ReadOnly opens the store without writing anything (counterspy
	// doctor): the write-ahead log is replayed in memory, writes fail.
	ReadOnly bool

	// ReadOnlyWhenFull opens an existing store read-only when the disk
	// lacks the space to replay its log and keep the reserve, instead of
	// failing: reads are served, writes refused with store.ErrNoSpace, and
	// the store reopens for writing by itself once space returns.
	ReadOnlyWhenFull bool

	// AcceptLoss opens a store whose acknowledgement ledger counts more
	// than it holds (see LostError), records the loss and goes on.
	AcceptLoss bool

	// fs replaces the operating system's file system (tests inject faults).
	fs vfs.FS
}

func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.EpochPast == 0 {
		o.EpochPast = store.DefaultEpochPast
	}
	if o.EpochFuture == 0 {
		o.EpochFuture = store.DefaultEpochFuture
	}
	def(&o.FrameSize, 128<<10)
	def(&o.ZstdLevel, 1)
	def(&o.MemTableSize, 32<<20)
	def(&o.RedirectCacheSize, 100_000)
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = 2*int64(o.MemTableSize) + defaultReserve
	}
	if o.CacheSize == 0 {
		o.CacheSize = 64 << 20
	}
	switch {
	case o.EpochPast < time.Second || o.EpochFuture < time.Second:
		return o, fmt.Errorf("epoch window [-%v, +%v] must be at least a second each way", o.EpochPast, o.EpochFuture)
	case o.FrameSize < 1<<10 || o.FrameSize > maxFrameRawSize/2:
		return o, fmt.Errorf("frame size %d outside [1 KiB, %d MiB]", o.FrameSize, maxFrameRawSize/2>>20)
	case o.ZstdLevel < 1 || o.ZstdLevel > 22:
		return o, fmt.Errorf("zstd level %d outside [1, 22]", o.ZstdLevel)
	case o.CacheSize < 0 || o.MemTableSize < 0:
		return o, fmt.Errorf("negative size in %+v", o)
	}
	return o, nil
}
