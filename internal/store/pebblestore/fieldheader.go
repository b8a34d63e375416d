package pebblestore

import (
	"encoding/binary"
	"math"

	"github.com/counterspy/counterspy/internal/store"
)

// A summary value is the trace's End (4 bytes, big-endian), then, from this
// version on, a field header, then the encoded summary. The header holds the
// fixed-size SummaryFields a scan tests to skip rows (store.PushDown)
// without handing them to the caller to decode:
//
//	marker byte (fieldHeaderMarker)
//	flags byte (fault, error, throttle, partial, and which numbers are exact
//	  or present)
//	Duration, ResponseTime: float32 bits, big-endian
//	HTTPStatus: uint16, big-endian
//
// 12 bytes per trace. Values without it (written by earlier versions, or for
// records whose Fields were left empty) still read, and are never skipped.
// The marker tells them apart: encoded summaries start with their format
// version byte (1 or 2, summary.FormatVersion; internal/summary pins that they
// never start with the marker).
const (
	fieldHeaderMarker = 0xF5
	fieldHeaderLen    = 12
)

// Flag bits of a field header.
const (
	hdrFault = 1 << iota
	hdrError
	hdrThrottle
	hdrPartial
	// hdrDurationExact and hdrResponseExact say the float32 is the value
	// itself; otherwise the value is within one float32 step of it.
	hdrDurationExact
	hdrResponseExact
	// hdrStatus says HTTPStatus fits in 16 bits and is stored.
	hdrStatus
)

// fieldsKnown reports whether a writer filled f: the summarizer always
// names at least one service. A record without them is stored without a
// header, so no scan ever skips it on zero values it never had.
func fieldsKnown(f *store.SummaryFields) bool {
	return len(f.Services) > 0 || len(f.AnnotationKeys) > 0 || f.Fault || f.Error || f.Throttle || f.Partial ||
		f.Duration != 0 || f.ResponseTime != 0 || f.HTTPStatus != 0 || f.HTTPMethod != "" || f.HTTPURL != ""
}

// putFieldHeader writes f's header into dst[:fieldHeaderLen].
func putFieldHeader(dst []byte, f *store.SummaryFields) {
	var flags byte
	set := func(b bool, bit byte) {
		if b {
			flags |= bit
		}
	}
	set(f.Fault, hdrFault)
	set(f.Error, hdrError)
	set(f.Throttle, hdrThrottle)
	set(f.Partial, hdrPartial)
	d, r := float32(f.Duration), float32(f.ResponseTime)
	set(float64(d) == f.Duration, hdrDurationExact)
	set(float64(r) == f.ResponseTime, hdrResponseExact)
	var status uint16
	if f.HTTPStatus >= 0 && f.HTTPStatus <= math.MaxUint16 {
		flags |= hdrStatus
		status = uint16(f.HTTPStatus)
	}
	dst[0], dst[1] = fieldHeaderMarker, flags
	binary.BigEndian.PutUint32(dst[2:], math.Float32bits(d))
	binary.BigEndian.PutUint32(dst[6:], math.Float32bits(r))
	binary.BigEndian.PutUint16(dst[10:], status)
}

// splitFieldHeader splits what follows a summary value's End into its field
// header (nil for a value without one) and the encoded summary.
func splitFieldHeader(v []byte) (hdr, summary []byte) {
	if len(v) >= fieldHeaderLen && v[0] == fieldHeaderMarker {
		return v[:fieldHeaderLen], v[fieldHeaderLen:len(v):len(v)]
	}
	return nil, v
}

// headerFails reports whether a row with header hdr certainly fails one of
// where: it may be skipped. It follows store.FieldCond.Holds, and it is
// false whenever it cannot tell: no header, a field or operator it does not
// keep, a number it only knows to within a float32 step, or a NaN.
func headerFails(hdr []byte, where []store.FieldCond) bool {
	if hdr == nil {
		return false
	}
	flags := hdr[1]
	for i := range where {
		c := &where[i]
		switch c.Field {
		case store.FieldFault:
			if numFails(c, b2f(flags&hdrFault != 0), true) {
				return true
			}
		case store.FieldError:
			if numFails(c, b2f(flags&hdrError != 0), true) {
				return true
			}
		case store.FieldThrottle:
			if numFails(c, b2f(flags&hdrThrottle != 0), true) {
				return true
			}
		case store.FieldPartial:
			if numFails(c, b2f(flags&hdrPartial != 0), true) {
				return true
			}
		case store.FieldDuration:
			if numFails(c, float64(math.Float32frombits(binary.BigEndian.Uint32(hdr[2:]))), flags&hdrDurationExact != 0) {
				return true
			}
		case store.FieldResponseTime:
			if numFails(c, float64(math.Float32frombits(binary.BigEndian.Uint32(hdr[6:]))), flags&hdrResponseExact != 0) {
				return true
			}
		case store.FieldHTTPStatus:
			if flags&hdrStatus != 0 && numFails(c, float64(binary.BigEndian.Uint16(hdr[10:])), true) {
				return true
			}
		}
	}
	return false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// numFails reports whether a number v (exactly, or else rounded to the
// nearest float32: the value is then strictly between v's float32
// neighbours) certainly fails c's comparison.
func numFails(c *store.FieldCond, v float64, exact bool) bool {
	if math.IsNaN(v) || math.IsNaN(c.Num) {
		return false
	}
	lo, hi := v, v
	if !exact {
		f := float32(v)
		lo = float64(math.Nextafter32(f, float32(math.Inf(-1))))
		hi = float64(math.Nextafter32(f, float32(math.Inf(1))))
	}
	switch c.Op {
	case store.Eq:
		return c.Num < lo || c.Num > hi
	case store.Ge:
		return hi < c.Num
	case store.Le:
		return lo > c.Num
	}
	return false
}

// pushesDown lists the fields the header keeps.
func pushesDown(f store.Field) bool {
	switch f {
	case store.FieldFault, store.FieldError, store.FieldThrottle, store.FieldPartial,
		store.FieldDuration, store.FieldResponseTime, store.FieldHTTPStatus:
		return true
	}
	return false
}

// PushesDown implements store.PushDown: scans skip the rows whose field
// header fails a Where condition on a fixed-size field (the flags, Duration,
// ResponseTime, HTTPStatus). Services and annotation keys are not kept.
func (s *Store) PushesDown(f store.Field) bool { return pushesDown(f) }

var _ store.PushDown = (*Store)(nil)
