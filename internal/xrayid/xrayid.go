// Package xrayid parses, formats and generates X-Ray trace and segment IDs.
//
// A trace ID is "1-" + 8 hex digits of the request's epoch second + "-" + 24 hex
// digits of randomness. It is kept as 16 bytes (4 epoch bytes, big-endian, then
// 12 random bytes) so that byte order is time order: stores use it directly as a
// key prefix.
package xrayid

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// TraceIDLen is the length of a trace ID in its text form.
const TraceIDLen = 35

// TraceID is an X-Ray trace ID in binary form.
type TraceID [16]byte

// SegmentID is a 64-bit segment or subsegment ID. Zero means "none".
type SegmentID uint64

var (
	errTraceIDLen    = errors.New("must be 35 characters: 1-<8 hex digits>-<24 hex digits>")
	errTraceIDFormat = errors.New(`must look like 1-<8 hex digits>-<24 hex digits>`)
	errHex           = errors.New("must be lowercase hexadecimal")
	errSegmentIDLen  = errors.New("must be 16 lowercase hexadecimal digits")
	errZeroSegmentID = errors.New("must not be all zeros")
)

// ParseTraceID parses the text form. Only lowercase hex is accepted, as the
// X-Ray documentation specifies and every SDK emits.
func ParseTraceID[S ~string | ~[]byte](s S) (TraceID, error) {
	var t TraceID
	if len(s) != TraceIDLen {
		return t, errTraceIDLen
	}
	if s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return t, errTraceIDFormat
	}
	if !decodeHex(t[:4], s[2:10]) || !decodeHex(t[4:], s[11:35]) {
		return t, errHex
	}
	return t, nil
}

// MustParseTraceID is ParseTraceID for tests and constants.
func MustParseTraceID(s string) TraceID {
	t, err := ParseTraceID(s)
	if err != nil {
		panic(fmt.Sprintf("xrayid: %q: %v", s, err))
	}
	return t
}

// Epoch returns the epoch second embedded in the ID. It is only a hint: OTel
// IDs converted to X-Ray form carry random bits here.
func (t TraceID) Epoch() uint32 { return binary.BigEndian.Uint32(t[:4]) }

// IsZero reports whether t is the zero value.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// String returns the text form.
func (t TraceID) String() string { return string(t.Append(make([]byte, 0, TraceIDLen))) }

// Append appends the text form to dst.
func (t TraceID) Append(dst []byte) []byte {
	dst = append(dst, '1', '-')
	dst = hex.AppendEncode(dst, t[:4])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, t[4:])
}

// MarshalText implements encoding.TextMarshaler.
func (t TraceID) MarshalText() ([]byte, error) { return t.Append(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *TraceID) UnmarshalText(b []byte) error {
	v, err := ParseTraceID(b)
	if err != nil {
		return fmt.Errorf("trace id %q: %w", b, err)
	}
	*t = v
	return nil
}

// ParseSegmentID parses 16 lowercase hex digits. The all-zero ID is the Go SDK's
// no-op ID and never names a real segment.
func ParseSegmentID[S ~string | ~[]byte](s S) (SegmentID, error) {
	if len(s) != 16 {
		return 0, errSegmentIDLen
	}
	var b [8]byte
	if !decodeHex(b[:], s) {
		return 0, errSegmentIDLen
	}
	id := SegmentID(binary.BigEndian.Uint64(b[:]))
	if id == 0 {
		return 0, errZeroSegmentID
	}
	return id, nil
}

// String returns the 16-digit hex form.
func (s SegmentID) String() string { return string(s.Append(make([]byte, 0, 16))) }

// Append appends the 16-digit hex form to dst.
func (s SegmentID) Append(dst []byte) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s))
	return hex.AppendEncode(dst, b[:])
}

// MarshalText implements encoding.TextMarshaler.
func (s SegmentID) MarshalText() ([]byte, error) { return s.Append(nil), nil }

// Generator makes new IDs the way the SDKs do (epoch second + random bits). It
// is not safe for concurrent use; give each goroutine its own.
type Generator struct{ rnd *rand.Rand }

// NewGenerator returns a generator; a fixed seed makes the sequence repeatable.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// TraceID returns a new trace ID that started at t.
func (g *Generator) TraceID(t time.Time) TraceID {
	var id TraceID
	binary.BigEndian.PutUint32(id[:4], uint32(t.Unix()))
	binary.BigEndian.PutUint64(id[4:12], g.rnd.Uint64())
	binary.BigEndian.PutUint32(id[12:], g.rnd.Uint32())
	return id
}

// SegmentID returns a new non-zero segment ID.
func (g *Generator) SegmentID() SegmentID {
	for {
		if id := SegmentID(g.rnd.Uint64()); id != 0 {
			return id
		}
	}
}

func decodeHex[S ~string | ~[]byte](dst []byte, s S) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
