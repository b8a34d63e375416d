package pebblestore

import (
	"encoding/binary"

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
)

const (
	frameKeyLen       = 1 + 8
	traceKeyPrefixLen = 1 + 4 + 16
	traceKeyLen       = traceKeyPrefixLen + 8
	redirectKeyLen    = 1 + 16
	redirectTimeLen   = 1 + 4 + 16
	countKeyLen       = 1 + 4
)

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
