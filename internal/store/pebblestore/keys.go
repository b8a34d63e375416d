package pebblestore

import (
	"encoding/binary"
	"math"

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
	prefixTerm         = 'i'
)

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

// secBound returns the first key of prefix at second sec or later, for the
// bounds of a range [from, to) given in int64 seconds: seconds before 0 start
// at the prefix, seconds past the uint32 range end after it.
func secBound(prefix byte, sec int64) []byte {
	switch {
	case sec <= 0:
		return []byte{prefix}
	case sec > math.MaxUint32:
		return []byte{prefix + 1}
	}
	return secKey(prefix, uint32(sec))
}
