package segment

import (
	"math"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Value helpers: the package-level ones check a lone value and report a
// path-less problem; the Decoder methods add the field path.

func stringValue(v *fastjson.Value) ([]byte, *Error) {
	b, err := v.StringBytes()
	if err != nil {
		return nil, wrongType("a string", v)
	}
	return b, nil
}

func boolValue(v *fastjson.Value) (bool, *Error) {
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, nil
	case fastjson.TypeFalse:
		return false, nil
	}
	return false, wrongType("a boolean", v)
}

// number parses a JSON number exactly. fastjson's own float parser can be off
// by an ulp on 17-digit mantissas, which times like 1.6815744310206673E9
// have; strconv is correctly rounded.
func (d *Decoder) number(v *fastjson.Value) (float64, *Error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, wrongType("a number", v)
	}
	d.num = v.MarshalTo(d.num[:0])
	f, err := strconv.ParseFloat(string(d.num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, problem(CodeInvalidSegment, "%s is out of range", clip(d.num))
	}
	return f, nil
}

// timeValue parses epoch seconds; any precision and exponent form are fine.
func (d *Decoder) timeValue(v *fastjson.Value) (float64, *Error) {
	f, e := d.number(v)
	if e != nil {
		return 0, e
	}
	if f < 0 {
		return 0, problem(CodeInvalidSegment, "must not be negative, found %s", formatSeconds(f))
	}
	return f, nil
}

// intValue parses an integer; 3.0 or 3e0 are not integers here, as in every
// SDK's output.
func intValue(v *fastjson.Value) (int64, *Error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, wrongType("an integer", v)
	}
	n, err := v.Int64()
	if err != nil {
		return 0, problem(CodeInvalidSegment, "expected an integer, found %s", clip(v.MarshalTo(nil)))
	}
	return n, nil
}

func segmentIDValue(v *fastjson.Value) (xrayid.SegmentID, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return 0, e
	}
	id, err := xrayid.ParseSegmentID(b)
	if err != nil {
		return 0, problem(CodeInvalidID, "%q %v", clip(b), err)
	}
	return id, nil
}

func traceIDValue(v *fastjson.Value) (xrayid.TraceID, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return xrayid.TraceID{}, e
	}
	t, err := xrayid.ParseTraceID(b)
	if err != nil {
		return t, problem(CodeInvalidTraceID, "%q %v", clip(b), err)
	}
	// The Go SDK's no-op trace ID, like the zero segment ID, never names a
	// real trace.
	if t.IsZero() {
		return t, problem(CodeInvalidTraceID, "%q must not be all zeros", b)
	}
	return t, nil
}

func (d *Decoder) str(idx int32, field string, v *fastjson.Value) (string, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return "", d.at(idx, field, e)
	}
	return string(b), nil
}

// internedString is str for fields with few distinct values.
func (d *Decoder) internedString(idx int32, field string, v *fastjson.Value) (string, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return "", d.at(idx, field, e)
	}
	return d.intern(b), nil
}

func (d *Decoder) boolean(idx int32, field string, v *fastjson.Value) (bool, *Error) {
	b, e := boolValue(v)
	if e != nil {
		return false, d.at(idx, field, e)
	}
	return b, nil
}

func (d *Decoder) time(idx int32, field string, v *fastjson.Value) (float64, *Error) {
	t, e := d.timeValue(v)
	if e != nil {
		return 0, d.at(idx, field, e)
	}
	return t, nil
}

func (d *Decoder) segmentID(idx int32, field string, v *fastjson.Value) (xrayid.SegmentID, *Error) {
	id, e := segmentIDValue(v)
	if e != nil {
		return 0, d.at(idx, field, e)
	}
	return id, nil
}

func (d *Decoder) traceID(idx int32, field string, v *fastjson.Value) (xrayid.TraceID, *Error) {
	t, e := traceIDValue(v)
	if e != nil {
		return t, d.at(idx, field, e)
	}
	return t, nil
}

func formatSeconds(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func stringCopy(v *fastjson.Value) (string, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return "", e
	}
	return string(b), nil
}

func (d *Decoder) internValue(v *fastjson.Value) (string, *Error) {
	b, e := stringValue(v)
	if e != nil {
		return "", e
	}
	return d.intern(b), nil
}
