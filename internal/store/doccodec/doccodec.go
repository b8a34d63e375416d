// Package doccodec splits a stored segment document into parts that a
// column store compresses better than the whole text, and joins them back
// byte-for-byte.
//
// A document's text mixes three kinds of bytes that a general-purpose
// compressor handles badly together: structure (keys, punctuation,
// repeated from document to document), random identifiers in hex (8 bytes
// of entropy written as 16 characters), and numbers (times in 17-digit
// decimals). Split keeps the structure as a skeleton with one marker byte
// where each value was, and moves the values to their own parts: hex IDs
// and UUIDs as binary, numbers as varints (times as differences), other
// strings in a few string parts chosen by their key. Stored in separate
// columns, each part is compressed among its own kind (docs/scaling.md,
// "Rows and bytes per segment").
//
// The keys of X-Ray documents (keyTable) are one byte each in the
// skeleton: ClickHouse compresses each block of rows on its own, so every
// block pays again for the first copy of each document shape it holds, and
// shorter skeletons make that copy cheaper.
//
// Any input bytes round-trip exactly, JSON or not: whatever Split cannot
// rewrite exactly (an escaped or unterminated string, a number such as
// 1e5, -0, 007 or with too many digits) stays in the skeleton as it was,
// and literal bytes that would read as markers are escaped.
package doccodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Row is the identity of the stored row a document belongs to: values
// equal to it are written as a marker alone, since the row keeps them
// anyway.
type Row struct {
	TraceID   xrayid.TraceID
	SegmentID xrayid.SegmentID
}

// The string parts. Keys whose values are near-random (request IDs),
// long and varied (URLs) or varied in a vocabulary of their own (addresses,
// instance IDs) get parts of their own, so that they do not spoil the
// compression of the short repeated names and versions in the common part
// (measured on the loadgen's large scenario: docs/scaling.md).
const (
	StrCommon = iota // every key not listed in strPart
	StrHot           // near-random values: request IDs
	StrURL           // URLs and queries
	StrVaried        // addresses, instance and image IDs, users
	NumStr           // the number of string parts
)

// strPart routes a string value by the key before it.
func strPart(key []byte) int {
	switch string(key) { // no allocation: the compiler compares the bytes
	case "request_id":
		return StrHot
	case "url", "sanitized_query":
		return StrURL
	case "client_ip", "instance_id", "ami_id", "pod", "message_id", "user":
		return StrVaried
	}
	return StrCommon
}

// Parts is a document split. The skeleton is the document with every
// value taken out replaced by a marker; the other parts hold those values
// in order.
type Parts struct {
	Skeleton []byte
	// IDs are the hex strings (even length, 16 to 510 lowercase digits)
	// and lowercase UUIDs, as binary.
	IDs []byte
	// Nums are the numbers' decimal mantissas (zigzag varints; the scale
	// is in the skeleton), times as the difference from the previous time
	// of the document (the first: from the trace ID's epoch second).
	Nums []byte
	// Strs are the other string values, each a uvarint length then the
	// bytes between the quotes as written.
	Strs [NumStr][]byte
}

// Reset empties p, keeping its buffers.
func (p *Parts) Reset() {
	p.Skeleton, p.IDs, p.Nums = p.Skeleton[:0], p.IDs[:0], p.Nums[:0]
	for i := range p.Strs {
		p.Strs[i] = p.Strs[i][:0]
	}
}

// Marker bytes: control characters, which JSON allows only as whitespace
// (tab, newline, carriage return: never markers) and never raw inside a
// string, and bytes 0x80 and up (keyTable's keys), which JSON has only
// inside strings. A literal such byte left in the skeleton (in a key not in
// the table, an unterminated string, text that is not JSON) is preceded
// by mEsc.
const (
	mEsc   = 0x01 // the next byte is literal
	mTrace = 0x02 // "<the row's trace ID>"
	mSeg   = 0x03 // "<the row's segment ID>"
	mHex   = 0x04 // then n: "<n bytes of IDs, in lowercase hex>"
	mUUID  = 0x05 // "<16 bytes of IDs as a lowercase UUID>"
	mNum   = 0x06 // then scale: a number from Nums
	mTime  = 0x07 // then scale: a time from Nums, relative to the previous one
	mShort = 0x08 // then scale: an mTime written without trailing zeros
	mSci   = 0x0b // then scale: an mShort written as Java writes doubles, 1.234E9
	mStr   = 0x10 // mStr+i (i < NumStr): "<the next string of Strs[i]>"
)

// Bytes 0x80 + i are "<keyTable[i]>", quotes included.

// isMarker reports whether a literal byte must be escaped in the skeleton.
func isMarker(c byte) bool { return c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c >= 0x80 }

// maxTimeOffset bounds a time's distance from the trace's epoch second:
// within it, the arithmetic on nanoseconds cannot overflow an int64.
const maxTimeOffset = 1 << 30

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// Split appends the parts of doc to p, which it resets first.
func Split(p *Parts, doc []byte, r Row) {
	p.Reset()
	var traceText [xrayid.TraceIDLen]byte
	r.TraceID.Append(traceText[:0])
	var segText [16]byte
	r.SegmentID.Append(segText[:0])
	epoch := int64(r.TraceID.Epoch())
	timeRef := epoch * 1e9 // nanoseconds
	lastKey := []byte(nil)
	lit := 0 // doc[lit:i] is literal text not yet copied
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c == '"':
			end := stringEnd(doc, i+1)
			if end < 0 { // unterminated: the rest is literal
				i = len(doc)
				continue
			}
			s := doc[i+1 : end]
			if isKey(doc, end+1) {
				lastKey = s
				if t, ok := keyToken(s); ok {
					p.Skeleton = appendLiteral(p.Skeleton, doc[lit:i])
					p.Skeleton = append(p.Skeleton, t)
					lit = end + 1
				}
				i = end + 1
				continue
			}
			p.Skeleton = appendLiteral(p.Skeleton, doc[lit:i])
			i = end + 1
			lit = i
			switch {
			case string(s) == string(traceText[:]):
				p.Skeleton = append(p.Skeleton, mTrace)
			case r.SegmentID != 0 && string(s) == string(segText[:]):
				p.Skeleton = append(p.Skeleton, mSeg)
			case len(s) >= 16 && len(s) <= 510 && len(s)%2 == 0 && p.appendHex(s):
				p.Skeleton = append(p.Skeleton, mHex, byte(len(s)/2))
			case len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && p.appendUUID(s):
				p.Skeleton = append(p.Skeleton, mUUID)
			default:
				k := strPart(lastKey)
				p.Skeleton = append(p.Skeleton, byte(mStr+k))
				p.Strs[k] = binary.AppendUvarint(p.Strs[k], uint64(len(s)))
				p.Strs[k] = append(p.Strs[k], s...)
			}
		case c == '-' || c >= '0' && c <= '9':
			end := i + 1
			for end < len(doc) && isNumByte(doc[end]) {
				end++
			}
			m, scale, ok := parseNumber(doc[i:end])
			if !ok {
				if m, scale, ok = parseSci(doc[i:end], epoch); ok {
					p.Skeleton = appendLiteral(p.Skeleton, doc[lit:i])
					i, lit = end, end
					p.Skeleton = append(p.Skeleton, mSci, byte(scale))
					p.Nums = binary.AppendVarint(p.Nums, m-timeRef/pow10[9-scale])
					timeRef = m * pow10[9-scale]
					continue
				}
				i = end
				continue
			}
			p.Skeleton = appendLiteral(p.Skeleton, doc[lit:i])
			i, lit = end, end
			if scale >= 1 && scale <= 9 && m/pow10[scale]-epoch < maxTimeOffset && epoch-m/pow10[scale] < maxTimeOffset {
				marker := byte(mTime)
				// A shortest float form (Go, Python, JavaScript) has as
				// many digits as the value needs, so the scale would
				// change from time to time, and every change breaks the
				// skeleton's repeats: such times are written at the
				// scale the writer uses at most.
				if doc[end-1] != '0' {
					marker = mShort
					s := shortScale(scale)
					m *= pow10[s-scale]
					scale = s
				}
				ref := timeRef / pow10[9-scale]
				p.Skeleton = append(p.Skeleton, marker, byte(scale))
				p.Nums = binary.AppendVarint(p.Nums, m-ref)
				timeRef = m * pow10[9-scale]
				continue
			}
			p.Skeleton = append(p.Skeleton, mNum, byte(scale))
			p.Nums = binary.AppendVarint(p.Nums, m)
		default:
			i++
		}
	}
	p.Skeleton = appendLiteral(p.Skeleton, doc[lit:])
}

// appendLiteral appends text to a skeleton, escaping the bytes that would
// read as markers.
func appendLiteral(dst, text []byte) []byte {
	if len(text) < 8 { // between a value and the next key: ",", "}]},", ", "
		for _, c := range text {
			if isMarker(c) {
				dst = append(dst, mEsc)
			}
			dst = append(dst, c)
		}
		return dst
	}
	for {
		j := nextMarker(text, 0)
		if j == len(text) {
			return append(dst, text...)
		}
		dst = append(append(dst, text[:j]...), mEsc, text[j])
		text = text[j+1:]
	}
}

// nextMarker returns the index of the first byte of b at or after i that
// isMarker, or len(b).
func nextMarker(b []byte, i int) int {
	for i < len(b) {
		// Skip eight bytes at a time while none is a control byte or
		// above 0x7f.
		if i+8 <= len(b) {
			const lo, hi = 0x0101010101010101, 0x8080808080808080
			w := binary.LittleEndian.Uint64(b[i:])
			if ((w-lo*0x20)&^w|w)&hi == 0 {
				i += 8
				continue
			}
		}
		if isMarker(b[i]) {
			return i
		}
		i++
	}
	return i
}

// shortScale is the scale at which a time of the given shortest-form
// scale is stored: milliseconds (JavaScript), the 7 digits a float64
// second of this century has at most after the point (Go, Python), or
// nanoseconds.
func shortScale(scale int) int {
	switch {
	case scale <= 3:
		return 3
	case scale <= 7:
		return 7
	}
	return 9
}

// stringEnd returns the index of the quote that closes the string whose
// content starts at doc[i], or -1.
func stringEnd(doc []byte, i int) int {
	// Eight bytes at a time: most strings are IDs, URLs and names
	// without escapes.
	for i+8 <= len(doc) {
		w := binary.LittleEndian.Uint64(doc[i:])
		if m := hasByte(w, '"') | hasByte(w, '\\'); m != 0 {
			j := i + bits.TrailingZeros64(m)/8
			if doc[j] == '"' {
				return j
			}
			i = j + 2 // the escaped byte
			continue
		}
		i += 8
	}
	for ; i < len(doc); i++ {
		if c := doc[i]; c == '"' {
			return i
		} else if c == '\\' {
			i++
		}
	}
	return -1
}

// hasByte has the high bit set in the lowest byte of w equal to b (and
// maybe in higher ones, which the caller ignores): the classic "has zero
// byte" test on w XOR b.
func hasByte(w uint64, b byte) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x := w ^ (lo * uint64(b))
	return (x - lo) &^ x & hi
}

// isKey reports whether the string that ended before doc[i] is an object
// key: a colon follows after any whitespace.
func isKey(doc []byte, i int) bool {
	for ; i < len(doc); i++ {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}

// parseNumber parses t when formatNumber gives it back exactly: an
// optional minus, an integer part without leading zeros, an optional
// fraction of 1 to 18 digits, at most 18 digits in all, not negative zero.
func parseNumber(t []byte) (m int64, scale int, ok bool) {
	neg := t[0] == '-'
	if neg {
		t = t[1:]
	}
	digits, intLen := 0, -1
	for j, c := range t {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + int64(c-'0')
			digits++
		case c == '.' && intLen < 0:
			intLen = j
		default:
			return 0, 0, false
		}
	}
	if intLen < 0 {
		intLen = len(t)
	} else {
		scale = len(t) - intLen - 1
		if scale == 0 {
			return 0, 0, false
		}
	}
	if intLen == 0 || intLen > 1 && t[0] == '0' || digits > 18 || neg && m == 0 {
		return 0, 0, false
	}
	if neg {
		m = -m
	}
	return m, scale, true
}

// parseSci parses a time written as Java's Double.toString writes numbers
// of 10^7 and more (one digit, a point, the other digits without trailing
// zeros, E, the exponent: 1.796601600001E9, 1.7966016E9), as Lambda and
// API Gateway send start and end times. It returns the value at scale
// shortScale of its digits after the point, when the value is near epoch
// and formatSci gives t back exactly.
func parseSci(t []byte, epoch int64) (m int64, scale int, ok bool) {
	e := 0
	for e < len(t) && t[e] != 'E' {
		e++
	}
	if e < 3 || e > 19 || len(t)-e < 2 || len(t)-e > 3 || t[0] < '1' || t[0] > '9' || t[1] != '.' || t[e+1] < '1' || t[e+1] > '9' {
		return 0, 0, false
	}
	x := 0
	for _, c := range t[e+1:] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		x = x*10 + int(c-'0')
	}
	frac := t[2:e]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	m = int64(t[0] - '0')
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		m = m*10 + int64(c-'0')
	}
	scale = shortScale(max(len(frac)-x, 0))
	if x+1+scale > 18 || len(frac)-x > scale {
		return 0, 0, false
	}
	m *= pow10[x-len(frac)+scale]
	if sec := m / pow10[scale]; sec-epoch >= maxTimeOffset || epoch-sec >= maxTimeOffset {
		return 0, 0, false
	}
	var buf [32]byte
	if string(formatSci(buf[:0], m, scale)) != string(t) {
		return 0, 0, false
	}
	return m, scale, true
}

// formatSci appends m at scale as parseSci reads it: the inverse of
// parseSci.
func formatSci(dst []byte, m int64, scale int) []byte {
	var buf [24]byte
	d := strconv.AppendInt(buf[:0], m, 10)
	x := len(d) - scale - 1 // the exponent
	for len(d) > 1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	dst = append(dst, d[0], '.')
	if len(d) == 1 {
		dst = append(dst, '0')
	}
	dst = append(append(dst, d[1:]...), 'E')
	return strconv.AppendInt(dst, int64(x), 10)
}

// formatNumber appends mantissa m at scale in decimal: the inverse of
// parseNumber.
func formatNumber(dst []byte, m int64, scale int) []byte {
	var buf [24]byte
	u := uint64(m)
	if m < 0 {
		u = uint64(-m)
	}
	i := len(buf)
	for n := 0; u > 0 || n <= scale; n++ {
		if n == scale && scale > 0 {
			i--
			buf[i] = '.'
		}
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if m < 0 {
		dst = append(dst, '-')
	}
	return append(dst, buf[i:]...)
}

// appendHex appends to IDs the bytes of s, if it is lowercase hex (of
// even length).
func (p *Parts) appendHex(s []byte) bool {
	n := len(p.IDs)
	for j := 0; j < len(s); j += 2 {
		hi, lo := hexVal[s[j]], hexVal[s[j+1]]
		if hi|lo > 15 {
			p.IDs = p.IDs[:n]
			return false
		}
		p.IDs = append(p.IDs, hi<<4|lo)
	}
	return true
}

// appendUUID appends to IDs the 16 bytes of s, if it is a lowercase UUID
// (its dashes checked).
func (p *Parts) appendUUID(s []byte) bool {
	n := len(p.IDs)
	if p.appendHex(s[:8]) && p.appendHex(s[9:13]) && p.appendHex(s[14:18]) && p.appendHex(s[19:23]) && p.appendHex(s[24:]) {
		return true
	}
	p.IDs = p.IDs[:n]
	return false
}

// hexVal is the value of a lowercase hex digit, 0xff for other bytes.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

const hexDigits = "0123456789abcdef"

func appendLowerHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// ErrCorrupt is wrapped by every Join error: the parts were not made by
// Split, or were cut short.
var ErrCorrupt = errors.New("doccodec: corrupt parts")

// Join appends to dst the document whose parts are p, split with the same
// r.
func Join(dst []byte, p *Parts, r Row) ([]byte, error) {
	ids, nums := p.IDs, p.Nums
	strs := p.Strs
	timeRef := int64(r.TraceID.Epoch()) * 1e9
	sk := p.Skeleton
	for i := 0; i < len(sk); i++ {
		j := nextMarker(sk, i)
		dst = append(dst, sk[i:j]...)
		if j == len(sk) {
			break
		}
		i = j
		c := sk[i]
		switch {
		case c >= 0x80: // keyTable has 128 entries
			dst = append(dst, quotedKeys[c-0x80]...)
		case c == mEsc:
			i++
			if i == len(sk) {
				return dst, fmt.Errorf("%w: skeleton ends in an escape", ErrCorrupt)
			}
			dst = append(dst, sk[i])
		case c == mTrace:
			dst = append(dst, '"')
			dst = append(r.TraceID.Append(dst), '"')
		case c == mSeg:
			dst = append(dst, '"')
			dst = append(r.SegmentID.Append(dst), '"')
		case c == mHex:
			i++
			if i == len(sk) {
				return dst, fmt.Errorf("%w: skeleton ends in a hex marker", ErrCorrupt)
			}
			n := int(sk[i])
			if n > len(ids) {
				return dst, fmt.Errorf("%w: %d ID bytes wanted, %d left", ErrCorrupt, n, len(ids))
			}
			dst = append(dst, '"')
			dst = append(appendLowerHex(dst, ids[:n]), '"')
			ids = ids[n:]
		case c == mUUID:
			if len(ids) < 16 {
				return dst, fmt.Errorf("%w: 16 UUID bytes wanted, %d left", ErrCorrupt, len(ids))
			}
			dst = append(dst, '"')
			dst = append(appendLowerHex(dst, ids[:4]), '-')
			dst = append(appendLowerHex(dst, ids[4:6]), '-')
			dst = append(appendLowerHex(dst, ids[6:8]), '-')
			dst = append(appendLowerHex(dst, ids[8:10]), '-')
			dst = append(appendLowerHex(dst, ids[10:16]), '"')
			ids = ids[16:]
		case c == mSci:
			i++
			if i == len(sk) {
				return dst, fmt.Errorf("%w: skeleton ends in a number marker", ErrCorrupt)
			}
			scale := int(sk[i])
			v, n := binary.Varint(nums)
			if n <= 0 || scale > 9 {
				return dst, fmt.Errorf("%w: numbers cut short or scale %d", ErrCorrupt, scale)
			}
			nums = nums[n:]
			v += timeRef / pow10[9-scale]
			if e := int64(r.TraceID.Epoch()); v/pow10[scale]-e >= maxTimeOffset || e-v/pow10[scale] >= maxTimeOffset || v/pow10[scale] < 10 {
				return dst, fmt.Errorf("%w: time out of range", ErrCorrupt)
			}
			timeRef = v * pow10[9-scale]
			dst = formatSci(dst, v, scale)
		case c == mNum || c == mTime || c == mShort:
			i++
			if i == len(sk) {
				return dst, fmt.Errorf("%w: skeleton ends in a number marker", ErrCorrupt)
			}
			scale := int(sk[i])
			v, n := binary.Varint(nums)
			if n <= 0 {
				return dst, fmt.Errorf("%w: numbers cut short", ErrCorrupt)
			}
			nums = nums[n:]
			if c != mNum {
				if scale < 1 || scale > 9 {
					return dst, fmt.Errorf("%w: time scale %d", ErrCorrupt, scale)
				}
				v += timeRef / pow10[9-scale]
				// Split wrote only times near the epoch; a corrupt
				// difference must not overflow the next reference.
				if e := int64(r.TraceID.Epoch()); v/pow10[scale]-e >= maxTimeOffset || e-v/pow10[scale] >= maxTimeOffset {
					return dst, fmt.Errorf("%w: time out of range", ErrCorrupt)
				}
				timeRef = v * pow10[9-scale]
			} else if scale > 18 {
				return dst, fmt.Errorf("%w: number scale %d", ErrCorrupt, scale)
			}
			dst = formatNumber(dst, v, scale)
			if c == mShort {
				for dst[len(dst)-1] == '0' && dst[len(dst)-2] != '.' {
					dst = dst[:len(dst)-1]
				}
			}
		case c >= mStr && c < mStr+NumStr:
			k := c - mStr
			l, n := binary.Uvarint(strs[k])
			if n <= 0 || l > uint64(len(strs[k])-n) {
				return dst, fmt.Errorf("%w: strings of part %d cut short", ErrCorrupt, k)
			}
			s := strs[k][n : n+int(l)]
			strs[k] = strs[k][n+int(l):]
			dst = append(dst, '"')
			dst = append(append(dst, s...), '"')
		default:
			return dst, fmt.Errorf("%w: unknown marker %#x", ErrCorrupt, c)
		}
	}
	if len(ids) > 0 || len(nums) > 0 {
		return dst, fmt.Errorf("%w: %d ID and %d number bytes left over", ErrCorrupt, len(ids), len(nums))
	}
	for k, s := range strs {
		if len(s) > 0 {
			return dst, fmt.Errorf("%w: %d bytes of string part %d left over", ErrCorrupt, len(s), k)
		}
	}
	return dst, nil
}
