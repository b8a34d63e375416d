package loadgen

import (
	"strconv"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

// timeStyle is how an emitter writes epoch-second times. Each real emitter
// has its own habit, and decoders must accept all of them.
type timeStyle uint8

const (
	// timeGo is float64(UnixNano)/1e9 in shortest form (Go and Python SDKs).
	timeGo timeStyle = iota
	// timeMilli is Date.now()/1000 (Node SDK): millisecond precision.
	timeMilli
	// timeAWSMilli and timeAWSMicro are the Java-style exponent form AWS
	// services write, e.g. 1.681574429596E9.
	timeAWSMilli
	timeAWSMicro
)

// jw appends compact JSON to b. It only tracks whether the current object
// or array already has a member, which is all comma placement needs.
type jw struct {
	b    []byte
	more bool
	// spaced writes Python json.dumps separators (", " and ": ").
	spaced bool
	ts     timeStyle
}

func (w *jw) sep() {
	if w.more {
		w.b = append(w.b, ',')
		if w.spaced {
			w.b = append(w.b, ' ')
		}
	}
	w.more = true
}

// key writes the separator and a member name; keys are our own constants
// and never need escaping.
func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	if w.spaced {
		w.b = append(w.b, ' ')
	}
}

func (w *jw) beginDoc() { w.b = append(w.b, '{'); w.more = false }
func (w *jw) obj(k string) {
	w.key(k)
	w.b = append(w.b, '{')
	w.more = false
}
func (w *jw) arr(k string) {
	w.key(k)
	w.b = append(w.b, '[')
	w.more = false
}
func (w *jw) elemObj() {
	w.sep()
	w.b = append(w.b, '{')
	w.more = false
}
func (w *jw) end()    { w.b = append(w.b, '}'); w.more = true }
func (w *jw) endArr() { w.b = append(w.b, ']'); w.more = true }

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = jsonenc.AppendString(w.b, v)
}

// strOpt writes a string member only when it is set, like omitempty.
func (w *jw) strOpt(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *jw) elemStr(v string) {
	w.sep()
	w.b = jsonenc.AppendString(w.b, v)
}

func (w *jw) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jw) num(k string, v float64) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}

func (w *jw) boolean(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) null(k string) {
	w.key(k)
	w.b = append(w.b, "null"...)
}

// time writes an epoch time given in nanoseconds in the writer's style.
func (w *jw) time(k string, ns int64) {
	w.key(k)
	w.b = appendTime(w.b, ns, w.ts)
}

func appendTime(b []byte, ns int64, ts timeStyle) []byte {
	switch ts {
	case timeMilli:
		return strconv.AppendFloat(b, float64(ns/1e6)/1e3, 'f', -1, 64)
	case timeAWSMilli:
		return appendJavaDouble(b, float64(ns/1e6)/1e3)
	case timeAWSMicro:
		return appendJavaDouble(b, float64(ns/1e3)/1e6)
	default:
		return strconv.AppendFloat(b, float64(ns)/1e9, 'f', -1, 64)
	}
}

// appendJavaDouble writes v as Java's Double.toString does for large
// values: shortest digits with an unsigned, unpadded exponent (1.6E9, not
// Go's 1.6E+09).
func appendJavaDouble(b []byte, v float64) []byte {
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], v, 'E', -1, 64)
	for i := 0; i < len(s); i++ {
		if s[i] != 'E' {
			continue
		}
		b = append(b, s[:i+1]...)
		exp := s[i+1:]
		if len(exp) > 0 && exp[0] == '-' {
			b = append(b, '-')
			exp = exp[1:]
		} else if len(exp) > 0 && exp[0] == '+' {
			exp = exp[1:]
		}
		for len(exp) > 1 && exp[0] == '0' {
			exp = exp[1:]
		}
		if len(s[:i]) == 1 { // Java always shows a fraction: 1.0E9
			b = append(b[:len(b)-1], '.', '0', 'E')
		}
		return append(b, exp...)
	}
	return append(b, s...)
}
