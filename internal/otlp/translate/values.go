package translate

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

// maxValueDepth bounds how deep an attribute value is written as JSON; a
// deeper value is kept as its JSON text (a string), so that the document
// stays within the JSON parser's nesting limit.
const maxValueDepth = 12

// trimBytes is how much of a long string or bytes value a refused span keeps
// on its second try.
const trimBytes = 4 << 10

// appendValue writes an OTLP AnyValue as plain JSON: strings, numbers and
// booleans as themselves, arrays and key/value lists as arrays and objects,
// bytes as base64 text, an empty value as null. docs/otlp.md lists this.
func (t *Translator) appendValue(b []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if t.trim && len(v.Str()) > trimBytes {
			return jsonenc.AppendString(b, v.Str()[:trimBytes]+"…")
		}
		return jsonenc.AppendString(b, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return t.appendFloat(b, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		if t.trim && len(raw) > trimBytes {
			raw = raw[:trimBytes]
		}
		return jsonenc.AppendString(b, base64.StdEncoding.EncodeToString(raw))
	case pcommon.ValueTypeSlice:
		if depth >= maxValueDepth {
			t.stats.fix(FixDeepValue)
			return jsonenc.AppendString(b, v.AsString())
		}
		s := v.Slice()
		b = append(b, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = t.appendValue(b, s.At(i), depth+1)
		}
		return append(b, ']')
	case pcommon.ValueTypeMap:
		if depth >= maxValueDepth {
			t.stats.fix(FixDeepValue)
			return jsonenc.AppendString(b, v.AsString())
		}
		return t.appendMap(b, v.Map(), depth+1)
	}
	return append(b, "null"...)
}

// appendMap writes a key/value list as a JSON object. OTLP allows a key
// twice; JSON readers keep the last, and so the object does too.
func (t *Translator) appendMap(b []byte, m pcommon.Map, depth int) []byte {
	b = append(b, '{')
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonenc.AppendString(b, k)
		b = append(b, ':')
		b = t.appendValue(b, v, depth)
		return true
	})
	return append(b, '}')
}

// appendFloat writes f as a JSON number, or as text for NaN and infinities,
// which JSON cannot hold.
func (t *Translator) appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		t.stats.fix(FixNonFinite)
		return jsonenc.AppendString(b, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendSeconds writes a timestamp in nanoseconds as X-Ray's epoch seconds
// with microsecond precision (what the X-Ray SDKs send).
func appendSeconds(b []byte, ns uint64) []byte {
	return strconv.AppendFloat(b, float64(ns/1000)/1e6, 'f', 6, 64)
}

// key writes ,"k": (or "k": first in an object).
func key(b []byte, k string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func strField(b []byte, k, v string) []byte {
	return jsonenc.AppendString(key(b, k), v)
}

func hexField(b []byte, k string, id []byte) []byte {
	b = append(key(b, k), '"')
	b = hex.AppendEncode(b, id)
	return append(b, '"')
}

func intField(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(key(b, k), v, 10)
}

// attrStr returns the attribute as text: strings as they are, numbers and
// booleans in their usual form; false when absent or empty.
func attrStr(m pcommon.Map, keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := m.Get(k); ok {
			if s, ok := valueStr(v); ok {
				return s, true
			}
		}
	}
	return "", false
}

// valueStr is a value as attrStr reads it.
func valueStr(v pcommon.Value) (string, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); s != "" {
			return s, true
		}
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return v.AsString(), true
	}
	return "", false
}

// valueInt returns a value as an integer (an int, or a string of digits as
// some SDKs send HTTP status codes).
func valueInt(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		if f := v.Double(); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case pcommon.ValueTypeStr:
		if n, err := strconv.ParseInt(v.Str(), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// attrStrings returns a string array attribute (or a single string) as a slice.
func attrStrings(m pcommon.Map, k string) []string {
	v, ok := m.Get(k)
	if !ok {
		return nil
	}
	return valueStrings(v)
}

// valueStrings is a value as attrStrings reads it.
func valueStrings(v pcommon.Value) []string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if v.Str() != "" {
			return []string{v.Str()}
		}
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]string, 0, s.Len())
		for i := 0; i < s.Len(); i++ {
			if e := s.At(i); e.Type() == pcommon.ValueTypeStr && e.Str() != "" {
				out = append(out, e.Str())
			}
		}
		return out
	}
	return nil
}

// cut shortens s on a refused span's second try (trim mode).
func (t *Translator) cut(s string) string {
	if t.trim && len(s) > trimBytes {
		return s[:trimBytes] + "…"
	}
	return s
}
