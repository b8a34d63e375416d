package pebblestore

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Key prefixes; doc.go has the whole layout.
const (
	prefixMeta         = 'm'
	prefixFrame        = 'f'
	prefixTrace        = 't'
	prefixRedirect     = 'r'
	prefixRedirectTime = 'p'
	prefixCount        = 'c'
	prefixSummary      = 's'
	prefixEnd          = 'e'
	prefixTerm         = 'i' // format 3: 16-byte trace IDs; read, no longer written
	prefixRef          = 'j' // format 4: 8-byte trace references
	prefixGraph        = 'g'
	prefixLog          = 'l'
)

// Log index kinds: the byte after prefixLog.
const (
	logByTrace    = 't'
	logByRequest  = 'r'
	logByFunction = 'f'
)

// userMetaSep follows prefixMeta in the keys of MetaStore values. The
// store's own m keys are named in lowercase letters, so the two never meet.
const userMetaSep = '/'

const (
	frameKeyLen       = 1 + 8
	traceKeyPrefixLen = 1 + 4 + 16
	traceKeyLen       = traceKeyPrefixLen + 8
	redirectKeyLen    = 1 + 16
	redirectTimeLen   = 1 + 4 + 16
	countKeyLen       = 1 + 4
	summaryKeyLen     = 1 + 4 + 16
	endKeyLen         = 1 + 4 + 16
	termKeyPrefixLen  = 1 + 4 + 8
	termKeyLen        = termKeyPrefixLen + 4
	refKeyLen         = termKeyLen + 1
	// posLen is the length of a position in a key: second(4) + trace ID(16).
	posLen = 4 + 16
)

// termBucketSecs is the time partition of index terms: term keys start with
// the placement second divided by it, so that retention drops them by range.
// Part of the format. A scan pays a seek per term and non-empty bucket of its
// window: over 100k traces spread over a day, the first 100 of a 1% term
// come in 84 µs with 10-minute buckets, 69 µs with hours, 65 µs with days,
// and all of them in 0.96, 0.79 and 0.65 ms. Hours keep retention precise
// (terms of dropped traces linger at most an hour) for little scan cost.
const termBucketSecs = 3600

var metaFormatKey = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// metaSeqKey holds the highest sequence number a Write has reserved for log
// lines (8 bytes, big-endian; merged, keeping the largest), so that lines
// written after a reopen sort after earlier ones of the same time even if
// the clock went back.
var metaSeqKey = []byte{prefixMeta, 's', 'e', 'q'}

// metaWrittenKey counts the records and log lines ever written (a merged
// varint, summed like record counts; DropBefore leaves it): compared with
// the acknowledgement ledger on Open, it tells acknowledged data that the
// write-ahead log lost (see ledger.go).
var metaWrittenKey = []byte{prefixMeta, 'w', 'r', 'i', 't', 't', 'e', 'n'}

func frameKey(dst []byte, seq uint64) []byte {
	dst = append(dst, prefixFrame)
	return binary.BigEndian.AppendUint64(dst, seq)
}

func traceKeyPrefix(dst []byte, sec uint32, id xrayid.TraceID) []byte {
	dst = append(dst, prefixTrace)
	dst = binary.BigEndian.AppendUint32(dst, sec)
	return append(dst, id[:]...)
}

func traceKey(dst []byte, sec uint32, id xrayid.TraceID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(traceKeyPrefix(dst, sec, id), seq)
}

// traceKeySeq returns the frame sequence of an index key, which the caller has
// found under a prefix of the right length.
func traceKeySeq(k []byte) (uint64, bool) {
	if len(k) != traceKeyLen {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[traceKeyPrefixLen:]), true
}

func redirectKey(dst []byte, id xrayid.TraceID) []byte {
	dst = append(dst, prefixRedirect)
	return append(dst, id[:]...)
}

func redirectTimeKey(dst []byte, sec uint32, id xrayid.TraceID) []byte {
	dst = append(dst, prefixRedirectTime)
	dst = binary.BigEndian.AppendUint32(dst, sec)
	return append(dst, id[:]...)
}

func countKey(dst []byte, minute uint32) []byte {
	dst = append(dst, prefixCount)
	return binary.BigEndian.AppendUint32(dst, minute)
}

// posKey is prefix + a position: second(4) + trace ID(16). Summary keys (by
// placement second) and ByEnd keys (by End second) have this form.
func posKey(dst []byte, prefix byte, sec uint32, id xrayid.TraceID) []byte {
	dst = append(dst, prefix)
	dst = binary.BigEndian.AppendUint32(dst, sec)
	return append(dst, id[:]...)
}

// termKeyPrefix is the part of a term key before the position: the term's
// keys in one bucket share it.
func termKeyPrefix(dst []byte, bucket uint32, term store.Term) []byte {
	dst = append(dst, prefixTerm)
	dst = binary.BigEndian.AppendUint32(dst, bucket)
	return binary.BigEndian.AppendUint64(dst, uint64(term))
}

// termKey is the key of the traces placed at sec indexed under term. Its
// value is their IDs, sorted (see idsMerger).
func termKey(dst []byte, sec uint32, term store.Term) []byte {
	dst = termKeyPrefix(dst, sec/termBucketSecs, term)
	return binary.BigEndian.AppendUint32(dst, sec)
}

// Reference kinds: the last byte of a j key, which says which 8 bytes of a
// trace ID its references are (see traceRef).
const (
	refByArrival = 'a' // placed by arrival: the ID's first 8 bytes
	refByEpoch   = 'e' // placed at its ID's epoch: the 8 bytes after it
)

// refLen is the length of a trace reference in a j value.
const refLen = 8

// traceRef returns the reference to trace id placed at sec: 8 bytes of its
// ID that, with sec, are a prefix of its summary key (s + sec + ID). A trace
// placed at its epoch (sec = its first 4 bytes) is referred to by the next
// 8, random in X-Ray and W3C IDs alike; a trace placed by arrival by its
// first 8. Two traces of one second may share a reference (about one pair
// in 2^64 for random IDs): a lookup yields both (read.go's resolve).
func traceRef(sec uint32, id xrayid.TraceID) (kind byte, ref [refLen]byte) {
	if id.Epoch() == sec {
		return refByEpoch, [refLen]byte(id[4:12])
	}
	return refByArrival, [refLen]byte(id[:8])
}

// refKey is the key of the references of kind to the traces placed at sec
// indexed under term. Its value is the references, sorted (see refsMerger).
func refKey(dst []byte, sec uint32, term store.Term, kind byte) []byte {
	dst = append(dst, prefixRef)
	dst = binary.BigEndian.AppendUint32(dst, sec/termBucketSecs)
	dst = binary.BigEndian.AppendUint64(dst, uint64(term))
	dst = binary.BigEndian.AppendUint32(dst, sec)
	return append(dst, kind)
}

// refKeyPrefix is termKeyPrefix for j keys.
func refKeyPrefix(dst []byte, bucket uint32, term store.Term) []byte {
	dst = append(dst, prefixRef)
	dst = binary.BigEndian.AppendUint32(dst, bucket)
	return binary.BigEndian.AppendUint64(dst, uint64(term))
}

// parsePos reads the position at the end of a key of length want.
func parsePos(k []byte, want int) (sec uint32, id xrayid.TraceID, ok bool) {
	if len(k) != want {
		return 0, id, false
	}
	p := k[want-posLen:]
	copy(id[:], p[4:])
	return binary.BigEndian.Uint32(p), id, true
}

// secKey is prefix + a uint32 second or minute: the bound of a time range.
func secKey(prefix byte, sec uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefix}, sec)
}

// upperBound returns the smallest key greater than every key starting with
// prefix: trailing 0xff bytes are dropped and the last other byte
// incremented. Only an all-0xff prefix has no such key; ours start with an
// ASCII letter.
func upperBound(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// clampSec turns Unix seconds into a key's uint32 second.
func clampSec(sec int64) uint32 {
	return uint32(min(max(sec, 0), math.MaxUint32))
}

// appendInt64 appends v so that byte order is numeric order: big-endian
// with the sign bit flipped.
func appendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^1<<63)
}

// readInt64 reads what appendInt64 wrote.
func readInt64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ 1<<63) }

// appendInt32 is appendInt64 for 32 bits.
func appendInt32(dst []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(v)^1<<31)
}

func readInt32(b []byte) int32 { return int32(binary.BigEndian.Uint32(b) ^ 1<<31) }

// appendString appends a length-prefixed string: uvarint length, bytes.
// In a key, it keeps strings that are prefixes of each other apart.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// graphMinuteLen is the length of a graph key up to its group.
const graphMinuteLen = 1 + 8

// graphMinuteKey is the first key of a graph minute.
func graphMinuteKey(minute int64) []byte {
	return appendInt64([]byte{prefixGraph}, minute)
}

// graphPrefix is the part of a graph key before the counter key: the keys
// of one group in one minute share it.
func graphPrefix(dst []byte, minute int64, group string) []byte {
	dst = append(dst, prefixGraph)
	dst = appendInt64(dst, minute)
	return appendString(dst, group)
}

// logSuffixLen is the length of a log key after its ID: time(8) + seq(8).
const logSuffixLen = 8 + 8

// logDayLen is the length of a log key up to its ID.
const logDayLen = 2 + 4

// nsPerDay is the time partition of log lines, in nanoseconds: the keys of
// each index start with the line's day, so that retention drops them by
// range. Part of the format.
const nsPerDay = int64(24 * time.Hour)

// logDay returns the day of a line time (Unix nanoseconds).
func logDay(ns int64) int32 { return int32(floorDiv(ns, nsPerDay)) }

// logDayKey is the first key of a day in one log index.
func logDayKey(kind byte, day int32) []byte {
	return appendInt32([]byte{prefixLog, kind}, day)
}

// logPrefix is the part of a log key before the time: the lines of one ID
// in one day share it.
func logPrefix(dst []byte, kind byte, day int32, id string) []byte {
	dst = append(dst, prefixLog, kind)
	dst = appendInt32(dst, day)
	return appendString(dst, id)
}

// logKey is the key of a line in one index.
func logKey(dst []byte, kind byte, id string, ns int64, seq uint64) []byte {
	dst = logPrefix(dst, kind, logDay(ns), id)
	dst = appendInt64(dst, ns)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// userMetaKey is the key of a MetaStore value.
func userMetaKey(dst []byte, key string) []byte {
	dst = append(dst, prefixMeta, userMetaSep)
	return append(dst, key...)
}
